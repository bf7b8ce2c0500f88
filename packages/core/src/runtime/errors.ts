import { brandClass } from '../api/brandClass.js';

/** Identifies an operator in messages: its name and, when set, its uid. */
export function describeOperator(name: string, uid?: string): string {
  return uid === undefined ? `'${name}'` : `'${name}' (uid '${uid}')`;
}

/**
 * An exception thrown by (or on behalf of) one operator, tagged with it while
 * it travels up a chain of operators, so the job's error can name the culprit.
 */
export class OperatorError extends Error {
  static {
    brandClass(this, 'OperatorError');
  }

  override readonly name = 'OperatorError';
  constructor(
    readonly operator: string,
    override readonly cause: unknown,
  ) {
    super(`operator ${operator} failed: ${messageOf(cause)}`, { cause });
  }

  /** Tags `error` with `operator` unless an inner operator already did. */
  static wrap(error: unknown, operator: string): OperatorError {
    return error instanceof OperatorError ? error : new OperatorError(operator, error);
  }
}

/**
 * A `close()` that had not settled `closeTimeoutMs` after the job was
 * cancelled or failed: the job ended (or restarted) without it, and whatever
 * it holds (a connection, a file) may still be open.
 */
export interface UnfinishedClose {
  /** The operator or source, quoted, with its uid: `'archive' (uid 'out')`. */
  readonly operator: string;
  /** The task (chain and subtask) it ran in: `'Source: numbers -> archive (1/1)'`. */
  readonly task: string;
}

/** `execute()` rejects with this when the job fails: it names the job, the operator and the cause. */
export class JobExecutionError extends Error {
  static {
    brandClass(this, 'JobExecutionError');
  }

  override readonly name = 'JobExecutionError';
  constructor(
    readonly jobName: string,
    /** The failing operator's description (name and uid), when one is known. */
    readonly operator: string | undefined,
    override readonly cause: unknown,
    /** Restarts tried before giving up. */
    readonly restarts = 0,
    /** Closes the job stopped waiting for (see `closeTimeoutMs`). */
    readonly unfinishedCloses: readonly UnfinishedClose[] = [],
  ) {
    super(
      (operator === undefined
        ? `Job '${jobName}' failed${after(restarts)}: ${messageOf(cause)}`
        : `Job '${jobName}' failed${after(restarts)} in operator ${operator}: ${messageOf(cause)}`) + unfinished(unfinishedCloses),
      { cause },
    );
  }
}

/** A graph or option that cannot work, reported when the job is built. */
export class InvalidJobError extends Error {
  static {
    brandClass(this, 'InvalidJobError');
  }

  override readonly name = 'InvalidJobError';
}

/**
 * An error's message, or the thrown value as text when it is not an Error: for messages that name a failure. Never
 * throws: a value with no text (`Object.create(null)`, a `message` getter or `toString` that throws, a revoked Proxy)
 * is described instead, since a failure that cannot be reported would leave its job hanging.
 */
export function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    try {
      return `a thrown ${Object.prototype.toString.call(error)} with no text`;
    } catch {
      return `a thrown ${typeof error} with no text`;
    }
  }
}

function unfinished(closes: readonly UnfinishedClose[]): string {
  if (closes.length === 0) return '';
  return ` (gave up waiting for close() of ${closes.map((c) => `${c.operator} in task '${c.task}'`).join(', ')})`;
}

function after(restarts: number): string {
  return restarts === 0 ? '' : ` after ${restarts} restart${restarts === 1 ? '' : 's'}`;
}
