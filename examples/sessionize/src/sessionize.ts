import {
  defineJob,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Clock,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type SingleOutputStream,
  type ValueState,
} from '@tributary/core';
import { formatSession } from './format.js';

/** One line of the click log: who opened which page, `second` seconds after the log started. */
export interface Click {
  readonly second: number;
  readonly user: string;
  readonly page: string;
}

/** A click as the replay emits it: `at` is when it was due on the job's clock, which its session's timer counts from. */
export interface ReplayedClick extends Click {
  readonly at: number;
}

/** A user's clicks with no pause of `gap` or more between them. Seconds are the log's. */
export interface Session {
  readonly user: string;
  readonly firstSecond: number;
  readonly lastSecond: number;
  readonly pages: readonly string[];
}

interface OpenSession {
  readonly firstSecond: number;
  readonly lastSecond: number;
  readonly pages: readonly string[];
  /** The processing time its inactivity timer fires at. */
  readonly closesAt: number;
}

const OPEN = new ValueStateDescriptor<OpenSession | undefined>('open session');

/**
 * Closes a user's session after `gapMs` of processing time without a click:
 * every click moves the user's timer to `gapMs` after it (after when the
 * replay emitted it, `at`, else now), and the timer that fires emits the
 * session. Counting from `at` rather than from when the click arrives keeps a
 * click late to this subtask (another thread, a busy one) from stretching
 * its session, and keeps every timer due by the time the replay has ended.
 */
export class Sessionizer implements KeyedProcessFunction<string, Click | ReplayedClick, Session> {
  private session: ValueState<OpenSession | undefined> | undefined;

  constructor(private readonly gapMs: number) {}

  open(ctx: RuntimeContext): void {
    this.session = ctx.getState(OPEN);
  }

  processElement(click: Click | ReplayedClick, ctx: KeyedProcessContext<string>, out: Collector<Session>): void {
    const state = this.session as ValueState<OpenSession | undefined>;
    const timers = ctx.timerService;
    const clickedAt = 'at' in click ? click.at : timers.currentProcessingTime();
    let session = state.value();
    // Its timer is due but has not fired yet (this click came in the same chunk): the session ended before this click.
    if (session !== undefined && session.closesAt <= clickedAt) {
      timers.deleteProcessingTimeTimer(session.closesAt);
      this.onTimer(session.closesAt, ctx, out);
      session = undefined;
    }
    // The old timer would close the session too early: one timer per user, at the last click + gap.
    if (session !== undefined) timers.deleteProcessingTimeTimer(session.closesAt);
    const closesAt = clickedAt + this.gapMs;
    state.update({
      firstSecond: session?.firstSecond ?? click.second,
      lastSecond: click.second,
      pages: [...(session?.pages ?? []), click.page],
      closesAt,
    });
    timers.registerProcessingTimeTimer(closesAt);
  }

  onTimer(_timestamp: number, ctx: KeyedProcessContext<string>, out: Collector<Session>): void {
    const state = this.session as ValueState<OpenSession | undefined>;
    const session = state.value();
    if (session === undefined) return;
    out.collect({ user: ctx.currentKey, firstSecond: session.firstSecond, lastSecond: session.lastSecond, pages: session.pages });
    state.clear();
  }
}

/**
 * Replays a click log in processing time: click `c` comes `c.second * 1000 /
 * speed` ms after the start, on the job's clock, stamped with that time
 * (`at`). After the last click it waits until `tailMs` past its `at`, because
 * timers not yet due when a bounded input ends are dropped (as in Flink) and
 * due ones fire: the wait makes the last sessions' timers due.
 */
export async function* replay(clicks: readonly Click[], clock: Clock, speed: number, tailMs: number): AsyncGenerator<ReplayedClick> {
  const start = clock.now();
  const sleepUntil = (at: number) => new Promise<void>((resolve) => clock.schedule(at, resolve));
  let last = start;
  for (const click of clicks) {
    const at = start + (click.second * 1000) / speed;
    if (at > clock.now()) await sleepUntil(at);
    last = at;
    yield { ...click, at };
  }
  // From the last click's `at`, as the sessionizer counts: every session's timer is due once this ends, however late a click came.
  await sleepUntil(Math.max(clock.now(), last + tailMs));
}

export interface SessionizeOptions {
  /** Pause in the log, in seconds, that ends a session. */
  readonly gapSeconds: number;
  /** How much faster than real time the log is replayed: 60 replays a minute of log per second. */
  readonly speed: number;
}

/**
 * The sessionizing graph over a replayed click log, on `env`: the sessions
 * stream. The gap is converted to processing time at the replay's speed.
 */
export function sessionsOf(env: StreamExecutionEnvironment, clicks: readonly Click[], options: SessionizeOptions): SingleOutputStream<Session> {
  const gapMs = (options.gapSeconds * 1000) / options.speed;
  return env
    .fromAsyncIterable(() => replay(clicks, env.clock, options.speed, gapMs + 1))
    .name('click log')
    .keyBy((click) => click.user)
    .process(new Sessionizer(gapMs))
    .name('sessions');
}

/** What the job is built from: plain data, so that every task slot builds the same graph. */
export interface SessionizeArgs extends SessionizeOptions {
  readonly clicks: readonly Click[];
  /** Subtasks of the sessionizer; above 1, one task slot (worker thread) each. Default 2. */
  readonly parallelism?: number;
  /** Print each session as it closes (the sink runs in the slots); else the sessions are the stream to collect. */
  readonly print?: boolean;
}

/**
 * The job module: every task slot imports it and builds the same graph, the
 * users spread over the slots by `keyBy`. Tests on a `ManualClock` build
 * {@link sessionsOf} on a single-thread environment instead.
 */
export const sessionizeJob = defineJob({
  module: import.meta.url,
  build: (args: SessionizeArgs) => {
    const env = StreamExecutionEnvironment.create({ parallelism: args.parallelism ?? 2 });
    const sessions = sessionsOf(env, args.clicks, args);
    if (args.print !== true) return sessions;
    sessions.map(formatSession).name('format').print().name('print');
    return env;
  },
});
