import { activeResources, countByType } from '../internal/activeResources.js';
import {
  describeValue,
  drain,
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
}

const RUN_JOB_OPTIONS = ['maxSteps', 'idleRounds', 'maxIoWaitMs'];

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
 * a job still running after `maxSteps` clock steps, and one whose I/O
 * stays in flight longer than `maxIoWaitMs`.
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
  const client = job instanceof Promise ? undefined : job;
  const result = job instanceof Promise ? job : job.result;
  const name = client === undefined ? 'The job' : `Job '${client.jobName}'`;
  let ended: { result: JobExecutionResult } | { error: unknown } | undefined;
  result.then(
    (value) => (ended = { result: value }),
    (error: unknown) => (ended = { error }),
  );
  const done = (): boolean => ended !== undefined;

  const stop = async (message: string): Promise<never> => {
    // Cancelling lets the job's operators close; its result then says `cancelled` and counts each operator's records.
    client?.cancel();
    await drain();
    for (let round = 0; !done() && round < idleRounds; round++) await drain();
    const operators = ended !== undefined && 'result' in ended ? ` Operators (records in -> out): ${describeOperators(ended.result)}.` : '';
    throw new Error(message + operators);
  };

  for (let steps = 0; ; steps++) {
    await drain();
    const idle = await waitForTimerOrEnd(clock, done, idleRounds, maxIoWaitMs);
    if (done()) return result;
    if (idle !== undefined) return stop(`${name} is stuck: it has not finished and no timer is pending on its clock (time ${clock.now()}); ${idle}`);
    const next = clock.nextTimerAt() as number;
    if (steps >= maxSteps) {
      return stop(
        `${name} has not finished after ${maxSteps} clock steps (time ${clock.now()}, next timer at ${next}); ` +
          'raise maxSteps if that is expected.',
      );
    }
    await clock.setTime(Math.max(next, clock.now()));
  }
}

/**
 * Waits until the job ended or a timer is pending, and returns undefined;
 * or, when the job has been idle too long, what it saw. Idle means
 * `idleRounds` rounds in a row with no I/O request in flight, or one I/O
 * request stretch longer than `maxIoWaitMs`.
 */
async function waitForTimerOrEnd(clock: ManualClock, done: () => boolean, idleRounds: number, maxIoWaitMs: number): Promise<string | undefined> {
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
    await drain();
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
