import { activeResources, countByType } from '../internal/activeResources.js';
import {
  describeValue,
  drainTurns,
  InvalidJobError,
  isSlotThread,
  OptionChecker,
  type DataStream,
  type JobClient,
  type JobExecutionResult,
  type ManualClock,
} from '@tributary/core';

/** Options of {@link runJobToCompletion}. */
export interface RunJobOptions {
  /** Most clock steps (timer firings) before giving up on a job that never ends. Default 10,000. */
  readonly maxSteps?: number;
  /**
   * Once the job's promise work has run out, no timer is pending and no
   * I/O request is in flight, how many more `drain()` rounds (at least one
   * event-loop turn each) it gets before it is reported stuck. Default 50.
   */
  readonly idleRounds?: number;
  /**
   * Longest real time, in ms, that one I/O request (a file system call, a
   * DNS lookup, a socket write) may stay in flight while no timer is
   * pending before the job is reported stuck. Default 30,000.
   */
  readonly maxIoWaitMs?: number;
  /**
   * Most event-loop turns the job may keep working without its clock moving
   * (at least a millisecond of work each) before it is stopped and
   * reported: a source that never ends and never waits on the clock would
   * run for ever. Default 2,000 (a few seconds of work).
   */
  readonly maxBusyTurns?: number;
}

const RUN_JOB_OPTIONS = ['maxSteps', 'idleRounds', 'maxIoWaitMs', 'maxBusyTurns'];

/** Turns of one bounded drain: small enough that a job that never rests is noticed soon. */
const DRAIN_SLICE_TURNS = 100;

/**
 * Runs a job built on an environment with a `ManualClock` to its end:
 * lets its promise work settle and, while it is still running, moves the
 * clock to the next pending timer (a keyed timer, a batch timeout, a fake
 * service answering), again and again. Resolves with the job's result, and
 * rejects with its `JobExecutionError` when it fails.
 *
 * Real I/O is waited for: while a file system call, DNS lookup or socket
 * write of the process is in flight, the job is not idle (a `FileSink`
 * committing its files takes real time, however busy the machine).
 *
 * Nothing hangs: a job still running with no timer pending, no I/O in
 * flight and no progress left to make (an operator waiting for a promise
 * that never settles, or for data on a socket that does not come) is
 * cancelled and reported stuck, with what was seen: the clock's time, how
 * long it waited, the open handles and each operator's record counts. So is
 * a job still running after `maxSteps` clock steps, one whose I/O
 * stays in flight longer than `maxIoWaitMs`, and one that keeps working for
 * `maxBusyTurns` event-loop turns without its clock moving (a source that
 * never ends and never waits on the clock).
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * const env = StreamExecutionEnvironment.create({ clock });
 * async function* slowSource() {
 *   yield 1;
 *   await new Promise<void>((resolve) => clock.schedule(clock.now() + 5_000, resolve));
 *   yield 2;
 * }
 * const out = collect(env.fromAsyncIterable(slowSource()).map((n) => n * 10));
 * const result = await runJobToCompletion(env.executeAsync('slow'), clock);
 * // out is [10, 20], clock.now() and result.runtimeMs are 5000
 * ```
 */
export async function runJobToCompletion(
  job: JobClient | Promise<JobExecutionResult>,
  clock: ManualClock,
  options: RunJobOptions = {},
): Promise<JobExecutionResult> {
  const check = new OptionChecker('runJobToCompletion()');
  if (!(job instanceof Promise) && typeof (job as Partial<JobClient> | null)?.result?.then !== 'function') {
    check.fail(`needs a JobClient (env.executeAsync()) or the promise of env.execute(), got ${describeValue(job)}`);
  }
  if (typeof (clock as Partial<ManualClock> | null)?.nextTimerAt !== 'function') {
    check.fail(`needs the job's ManualClock as its second argument, got ${describeValue(clock)}`);
  }
  check.known(check.object(options), RUN_JOB_OPTIONS);
  const maxSteps = check.optionalInteger('maxSteps', options.maxSteps, 10_000);
  const idleRounds = check.optionalInteger('idleRounds', options.idleRounds, 50);
  const maxIoWaitMs = check.optionalDuration('maxIoWaitMs', options.maxIoWaitMs, 30_000, { positive: true });
  const maxBusyTurns = check.optionalInteger('maxBusyTurns', options.maxBusyTurns, 2_000);
  const client = job instanceof Promise ? undefined : job;
  const result = job instanceof Promise ? job : job.result;
  const name = client === undefined ? 'The job' : `Job '${client.jobName}'`;
  let ended: { result: JobExecutionResult } | { error: unknown } | undefined;
  result.then(
    (value) => (ended = { result: value }),
    (error: unknown) => (ended = { error }),
  );
  const done = (): boolean => ended !== undefined;

  // Turns the job kept working since the clock last moved. drain() alone would give a job that never rests
  // 100,000 turns per call (minutes), so the kit drains in slices and counts them.
  let busyTurns = 0;
  let busySince = performance.now();
  let busy = false;
  /** Drains until the job rests or ends; false (and `busy`) once it worked `maxBusyTurns` turns without the clock moving. */
  const settle = async (): Promise<boolean> => {
    for (;;) {
      if ((await drainTurns(DRAIN_SLICE_TURNS)) || done()) return true;
      busyTurns += DRAIN_SLICE_TURNS;
      if (busyTurns >= maxBusyTurns) {
        busy = true;
        return false;
      }
    }
  };

  const stop = async (message: string): Promise<never> => {
    // Cancelling lets the job's operators close; its result then says `cancelled` and counts each operator's records.
    client?.cancel();
    // Bounded: a job given as a promise cannot be cancelled, and one that never rests would hold a full drain() for minutes.
    for (let round = 0; !done() && round <= idleRounds; round++) await drainTurns(DRAIN_SLICE_TURNS);
    const operators = ended !== undefined && 'result' in ended ? ` Operators (records in -> out): ${describeOperators(ended.result)}.` : '';
    throw new Error(message + operators);
  };

  const busyMessage = (): string =>
    `${name} has not finished and keeps working without waiting on its clock: it ran ${busyTurns} event-loop turns ` +
    `(${Math.round(performance.now() - busySince)} ms) since the clock last moved (time ${clock.now()}). ` +
    'A source that never ends and never waits on the clock (an endless generator)? Make it end, or wait on the clock ' +
    'between records; raise maxBusyTurns if the job is only big.';

  for (let steps = 0; ; steps++) {
    const rested = await settle();
    const idle = rested ? await waitForTimerOrEnd(clock, done, idleRounds, maxIoWaitMs, settle) : undefined;
    if (done()) return result;
    if (busy) return stop(busyMessage());
    if (idle !== undefined) return stop(`${name} is stuck: it has not finished and no timer is pending on its clock (time ${clock.now()}); ${idle}`);
    const next = clock.nextTimerAt() as number;
    if (steps >= maxSteps) {
      return stop(
        `${name} has not finished after ${maxSteps} clock steps (time ${clock.now()}, next timer at ${next}); ` +
          'raise maxSteps if that is expected.',
      );
    }
    await clock.setTime(Math.max(next, clock.now()));
    busyTurns = 0;
    busySince = performance.now();
  }
}

/**
 * Waits until the job ended or a timer is pending (or `settle` found it
 * busy too long), and returns undefined; or, when the job has been idle too
 * long, what it saw. Idle means
 * `idleRounds` rounds in a row with no I/O request in flight, or one I/O
 * request stretch longer than `maxIoWaitMs`.
 */
async function waitForTimerOrEnd(
  clock: ManualClock,
  done: () => boolean,
  idleRounds: number,
  maxIoWaitMs: number,
  settle: () => Promise<boolean>,
): Promise<string | undefined> {
  const start = performance.now();
  let quietRounds = 0;
  let ioSince: number | undefined;
  for (;;) {
    if (done() || clock.nextTimerAt() !== undefined) return undefined;
    const { requests, handles } = activeResources();
    const waited = Math.round(performance.now() - start);
    if (requests.length > 0) {
      ioSince ??= performance.now();
      if (performance.now() - ioSince >= maxIoWaitMs) {
        return `I/O stayed in flight for more than ${maxIoWaitMs} ms (${countByType(requests)}; open handles: ${countByType(handles)}).`;
      }
      quietRounds = 0;
      // Real I/O ends on the machine's time, not the clock's: sleep instead of spinning, leaving the CPU to the thread pool.
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    ioSince = undefined;
    if (quietRounds >= idleRounds) {
      return (
        `once its promise work ran out it stayed so for ${quietRounds} more drain() rounds (${waited} ms in all) with no I/O ` +
        `request (file system, DNS, socket write) in flight; open handles: ${countByType(handles)}. ` +
        'An operator, source or sink is waiting for a promise that never settles, or for data on an open handle (a socket, a pipe) that did not come.'
      );
    }
    // A job that starts working again is not idle; settle() says when it worked too long (the caller reads why).
    if (!(await settle())) return undefined;
    quietRounds++;
  }
}

/** `'Source: numbers' 0 -> 10, 'Map' 10 -> 10` */
function describeOperators(result: JobExecutionResult): string {
  return result.operators.map((op) => `'${op.name}' ${op.recordsIn} -> ${op.recordsOut}`).join(', ');
}

/**
 * Collects every record of `stream` into the returned array as the job
 * runs: call it while building the job, before running it. Works for side
 * outputs too (`collect(stream.getSideOutput(tag))`).
 *
 * The records stay in the thread that runs the sink, so the job must run on
 * this thread (`runtime: 'single-thread'`, which a `ManualClock` needs
 * anyway). In a slot (a `defineJob` job on the `'slots'` runtime, the
 * default above parallelism 1) it throws while the slot builds the job, and
 * the job fails: the array the main thread holds would stay empty. There,
 * return the stream from `build` and run the job's `executeAndCollect()`.
 *
 * @example
 * ```ts
 * const out = collect(env.fromElements(1, 2, 3).map((n) => n * 2));
 * await runJobToCompletion(env.executeAsync(), clock);
 * out; // [2, 4, 6]
 * ```
 */
export function collect<T>(stream: DataStream<T>, name = 'Sink: Test collect'): T[] {
  // Before the sink is added: name() would fail after it, without saying collect() called it, and leave a nameless sink.
  const check = new OptionChecker('collect()');
  if (typeof (stream as Partial<DataStream<T>> | null)?.addSink !== 'function') check.fail(`needs a DataStream as its first argument, got ${describeValue(stream)}`);
  check.nonEmptyString('name', name);
  if (isSlotThread()) {
    // Each slot builds the job again, so this array would live in the slot's thread and the caller's would stay empty.
    throw new InvalidJobError(
      "collect() cannot bring records out of a slot: the job runs in slots (runtime: 'slots', the default of a defineJob job " +
        'above parallelism 1), each in its own thread, and the array collect() returned in the main thread would stay empty. ' +
        "Run the job with runtime: 'single-thread' (as runJobToCompletion needs), or return the stream from build and use the " +
        "job's executeAndCollect()",
    );
  }
  const values: T[] = [];
  stream
    .addSink((value) => {
      values.push(value);
    })
    .name(name);
  return values;
}
