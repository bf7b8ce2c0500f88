import type { LogFields } from '../logging/Logger.js';
import type { Clock } from './Clock.js';

/** What one task of a running job is doing. */
export interface TaskStatus {
  /** The task: its chained operators and subtask, `'Source: numbers -> Map (1/2)'`. */
  readonly task: string;
  /** What it waits for (`'input'`, `"endInput() of 'Batch'"`, `"close() of 'archive'"`), or undefined while it works or once it ended. */
  readonly waitingOn: string | undefined;
  /** Whether the task has ended (its operators closed). */
  readonly ended: boolean;
}

/** How often a watchdog with warnings off wakes: only its pending timer matters, which holds the process. */
const KEEP_ALIVE_PERIOD_MS = 60 * 60 * 1000;

export interface WatchdogOptions {
  readonly jobName: string;
  /**
   * Real time, not the job's clock: a job on a ManualClock must hold its
   * process too, and a stall is measured in the time a person waits.
   */
  readonly clock: Clock;
  /** 0: no stall warnings (the process is still kept alive). */
  readonly stallWarningMs: number;
  /** A number that grows whenever the job moves records. */
  readonly progress: () => number;
  readonly tasks: () => readonly TaskStatus[];
  /** The checkpoint storage call that has not settled (`highestCheckpointId()`), if any. */
  readonly storageCall?: () => string | undefined;
  /** Told of a stall: a message and its fields (`stalledMs`, `waits`). */
  readonly warn: (message: string, fields: LogFields) => void;
}

/** Checks per `stallWarningMs`: a stall is seen within a quarter of it after it reaches its length. */
const CHECKS_PER_STALL = 4;

/**
 * Keeps a job visible for as long as it runs. Its pending clock timer (a
 * ref'd `setTimeout` on the system clock) holds the process, so
 * Node does not exit (with code 0, the result never reported) while the job
 * waits on a promise that holds no handle of its own, such as a user
 * function that never settles. It checks four times per `stallWarningMs`
 * whether records moved; once none moved for `stallWarningMs` and a task
 * waits on something other than input, it warns once, naming what each
 * task waits on.
 */
export class JobWatchdog {
  private lastProgress: number | undefined;
  /** When (on the watchdog's clock) a check last saw records move, or saw the job first. */
  private progressAt = 0;
  private warned = false;

  constructor(private readonly options: WatchdogOptions) {}

  /** Starts holding the process alive and checking; returns the function that stops both. */
  start(): () => void {
    const { clock, stallWarningMs } = this.options;
    const period = stallWarningMs === 0 ? KEEP_ALIVE_PERIOD_MS : Math.max(1, Math.floor(stallWarningMs / CHECKS_PER_STALL));
    let cancel: () => void;
    const arm = (): void => {
      cancel = clock.schedule(clock.now() + period, () => {
        this.check();
        arm();
      });
    };
    this.check();
    arm();
    return () => cancel();
  }

  /** One check: warns once no record moved for `stallWarningMs` and some task waits on pending work. */
  check(): void {
    const { stallWarningMs, jobName, clock } = this.options;
    if (stallWarningMs === 0) return;
    const progress = this.options.progress();
    const now = clock.now();
    if (progress !== this.lastProgress) {
      this.lastProgress = progress;
      this.progressAt = now;
      this.warned = false;
      return;
    }
    const stalledMs = now - this.progressAt;
    if (stalledMs < stallWarningMs || this.warned) return;
    const waits = this.options.tasks().filter((t) => !t.ended && t.waitingOn !== undefined && t.waitingOn !== 'input');
    if (waits.length === 0) return;
    this.warned = true;
    // Tasks that only wait for the final checkpoint while a storage call is pending wait on the storage, not on their operators.
    const storageCall = waits.every((t) => t.waitingOn === 'the final checkpoint') ? this.options.storageCall?.() : undefined;
    this.options.warn(
      `Job '${jobName}' moved no record for ${stalledMs} ms and waits on pending work: ` +
        waits.map((t) => `task '${t.task}' on ${t.waitingOn as string}`).join('; ') +
        (storageCall === undefined
          ? ' (see JobClient.tasks(); a promise of these operators may never settle)'
          : ` (${storageCall} of the checkpoint storage has not settled)`),
      { stalledMs, waits: waits.map((t) => ({ task: t.task, waitingOn: t.waitingOn })), ...(storageCall === undefined ? {} : { storageCall }) },
    );
  }
}
