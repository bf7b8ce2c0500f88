import { quiesce } from '../internal/quiesce.js';
import { describeValue, OptionChecker, settle, type DataStream, type JobClient, type JobExecutionResult, type ManualClock } from '@tributary/core';

/** Options of {@link runJobToCompletion}. */
export interface RunJobOptions {
  /** Most clock steps (timer firings) before giving up on a job that never ends. Default 10,000. */
  readonly maxSteps?: number;
  /**
   * Once the job's promise work has run out and no timer is pending, how
   * many more `settle()` rounds (a few event-loop turns each) it gets before
   * it is reported stuck: room for real I/O a source or sink may wait on.
   * Default 50.
   */
  readonly idleRounds?: number;
}

const RUN_JOB_OPTIONS = ['maxSteps', 'idleRounds'];

/**
 * Runs a job built on an environment with a `ManualClock` to its end:
 * lets its promise work settle and, while it is still running, moves the
 * clock to the next pending timer (a keyed timer, a batch timeout, a fake
 * service answering), again and again. Resolves with the job's result, and
 * rejects with its `JobExecutionError` when it fails.
 *
 * Nothing hangs: a job still running with no timer pending and no progress
 * left to make (an operator waiting for a promise that never settles) is
 * cancelled and reported stuck, and so is a job still running after
 * `maxSteps` clock steps.
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
  const client = job instanceof Promise ? undefined : job;
  const result = job instanceof Promise ? job : job.result;
  const name = client === undefined ? 'The job' : `Job '${client.jobName}'`;
  let done = false;
  result.then(
    () => (done = true),
    () => (done = true),
  );

  const stop = async (message: string): Promise<never> => {
    // Cancelling lets the job's operators close; its result then says `cancelled`, which nobody awaits.
    client?.cancel();
    await quiesce();
    throw new Error(message);
  };

  for (let steps = 0; ; steps++) {
    await quiesce();
    for (let round = 0; !done && clock.nextTimerAt() === undefined && round < idleRounds; round++) await settle();
    if (done) return result;
    const next = clock.nextTimerAt();
    if (next === undefined) {
      return stop(
        `${name} is stuck: it has not finished, its records stopped moving and no timer is pending on its clock ` +
          `(time ${clock.now()}); an operator, source or sink is waiting for a promise that never settles`,
      );
    }
    if (steps >= maxSteps) {
      return stop(
        `${name} has not finished after ${maxSteps} clock steps (time ${clock.now()}, next timer at ${next}); ` +
          'raise maxSteps if that is expected',
      );
    }
    await clock.setTime(Math.max(next, clock.now()));
  }
}

/**
 * Collects every record of `stream` into the returned array as the job
 * runs: call it while building the job, before running it. Works for side
 * outputs too (`collect(stream.getSideOutput(tag))`).
 *
 * @example
 * ```ts
 * const out = collect(env.fromElements(1, 2, 3).map((n) => n * 2));
 * await runJobToCompletion(env.executeAsync(), clock);
 * out; // [2, 4, 6]
 * ```
 */
export function collect<T>(stream: DataStream<T>, name = 'Sink: Test collect'): T[] {
  const values: T[] = [];
  stream
    .addSink((value) => {
      values.push(value);
    })
    .name(name);
  return values;
}
