import { describeValue, OptionChecker } from '@tributary/core';
import type { OperatorHarness, TimedRecord } from './OperatorHarness.js';

/** Options of {@link feedMarbles}. */
export interface FeedMarblesOptions<TIn> {
  /** Processing time one frame (one `-`, record or group) takes. */
  readonly frameMs: number;
  /** The record each symbol stands for; without it, the symbol itself is the record. */
  readonly values?: Readonly<Record<string, TIn>>;
  /** Time of the first frame. Default: the harness clock's current time. */
  readonly startTime?: number;
}

/**
 * Feeds records to a harness on a timeline drawn as a marble diagram, after
 * RxJS's marble tests.
 *
 * Every character is one frame of `frameMs`: `-` lets time pass, a symbol
 * feeds its record at that frame's time, `(ab)` feeds several records in one
 * frame, `|` ends the input (awaiting `harness.endInput()`), and spaces are
 * ignored. Before a frame's records are fed the clock is set to the frame's
 * time, so timers due by then (a batch timeout) fire first. Records are fed
 * as a task feeds them ({@link OperatorHarness.feed}): while the operator is
 * backpressured the clock moves on until it takes the next record, so a
 * frame's records may go in later than the frame, and later frames start
 * from there.
 *
 * @example
 * ```ts
 * // records 1 and 2 at t=0, 3 at t=30, end of input at t=40
 * await feedMarbles(harness, '(ab)--c|', { frameMs: 10, values: { a: 1, b: 2, c: 3 } });
 * ```
 */
export async function feedMarbles<TIn>(harness: OperatorHarness<TIn, unknown>, diagram: string, options: FeedMarblesOptions<TIn>): Promise<void> {
  const check = new OptionChecker('feedMarbles()');
  check.known(check.object(options), ['frameMs', 'values', 'startTime']);
  check.record('values', options.values);
  const { frameMs, values } = options;
  check.duration('frameMs', frameMs, { positive: true });
  // Checked here, or a NaN reaches ManualClock.setTime, whose error does not say which option it came from.
  const start = check.optionalNumber('startTime', options.startTime, {}) ?? harness.clock.now();
  // Frames before the clock's time would all be fed at once, at the clock's time: not the timeline drawn.
  if (start < harness.clock.now()) check.fail(`option 'startTime' (${start}) is before the harness clock's time (${harness.clock.now()}); the clock never goes back`);
  const valueOf = (symbol: string): TIn => {
    if (values === undefined) return symbol as TIn;
    if (!(symbol in values)) throw new Error(`feedMarbles: the symbol '${symbol}' in '${diagram}' has no entry in values`);
    return values[symbol] as TIn;
  };
  checkDiagram(diagram);
  let frame = 0;
  let group: string[] | undefined;
  for (const char of diagram) {
    if (char === ' ') continue;
    if (char === '(') {
      group = [];
      continue;
    }
    if (group !== undefined && char !== ')') {
      group.push(char);
      continue;
    }
    await harness.setProcessingTime(Math.max(start + frame * frameMs, harness.clock.now()));
    if (char === '|') {
      await harness.endInput();
      return;
    }
    // feed(), not processElement(): a task gives an operator no record while it is backpressured (a full async operator).
    if (char === ')') {
      await harness.feed((group ?? []).map(valueOf));
      group = undefined;
    } else if (char !== '-') {
      await harness.feed([valueOf(char)]);
    }
    frame++;
  }
}

/** Refuses a diagram that would not feed what it draws: a stray or nested bracket, a `-` or `|` in a group, anything after `|`. */
function checkDiagram(diagram: string): void {
  const fail = (what: string): never => {
    throw new Error(`feedMarbles: ${what} in '${diagram}'`);
  };
  let open = false;
  let ended = false;
  for (const char of diagram) {
    if (char === ' ') continue;
    if (ended) fail(`'${char}' after '|' (the input has ended; nothing after it is fed)`);
    if (char === '(') {
      if (open) fail("nested '('");
      open = true;
    } else if (char === ')') {
      if (!open) fail("')' without its '('");
      open = false;
    } else if (open && (char === '-' || char === '|')) {
      fail(`'${char}' inside a group (a group is records of one frame)`);
    } else if (char === '|') {
      ended = true;
    }
  }
  if (open) fail("unclosed '('");
}

/** A symbol as {@link toMarbles} draws it: one character that is not part of the diagram's syntax, or the diagram would read otherwise. */
function marble(symbol: unknown): string {
  if (typeof symbol !== 'string' || [...symbol].length !== 1 || '-()| '.includes(symbol)) {
    throw new TypeError(`toMarbles(): symbol() must return one character other than '-', '(', ')', '|' and space, got ${describeValue(symbol)}`);
  }
  return symbol;
}

/** The longest diagram {@link toMarbles} draws: longer ones are a startTime left at 0 for a clock far from 0, not a timeline anyone reads. */
const MAX_FRAMES = 1_000_000;

/** Options of {@link toMarbles}. */
export interface ToMarblesOptions<T> {
  readonly frameMs: number;
  /** Time of frame 0 (a harness on `new ManualClock(t)` wants `t`). Default 0. */
  readonly startTime?: number;
  /** The one-character symbol of a record. Default `String(value)`. */
  readonly symbol?: (value: T) => string;
}

/**
 * Draws emitted records (`harness.getTimedOutput()`) as a marble diagram:
 * one character per frame of `frameMs`, `-` for a frame without output,
 * `(ab)` for several records in one frame. A record belongs to the frame
 * its emission time falls in; a record the diagram cannot hold (before
 * `startTime`, a million frames or more after it, or with no finite time)
 * is an error, never left out.
 *
 * @example
 * ```ts
 * toMarbles(harness.getTimedOutput(), { frameMs: 10, symbol: (batch) => String(batch.length) }); // '---3-2'
 * ```
 */
export function toMarbles<T>(records: readonly TimedRecord<T>[], options: ToMarblesOptions<T>): string {
  const check = new OptionChecker('toMarbles()');
  check.known(check.object(options), ['frameMs', 'startTime', 'symbol']);
  check.optionalFunc('symbol', options.symbol);
  const { frameMs } = options;
  check.duration('frameMs', frameMs, { positive: true });
  const start = check.optionalNumber('startTime', options.startTime, {}) ?? 0;
  const symbol = options.symbol ?? ((value: T) => String(value));
  const frames: string[][] = [];
  for (const { time, value } of records) {
    // A record with no frame must fail: a NaN or huge frame is no array index, and the record vanished from the diagram.
    if (typeof time !== 'number' || !Number.isFinite(time)) throw new RangeError(`toMarbles(): a record's time must be a finite number, got ${describeValue(time)}`);
    const frame = Math.floor((time - start) / frameMs);
    if (frame < 0) throw new RangeError(`toMarbles: a record at time ${time} is before startTime ${start}`);
    if (frame >= MAX_FRAMES) {
      throw new RangeError(`toMarbles(): a record at time ${time} falls in frame ${frame}, past the ${MAX_FRAMES} frames a diagram may hold; set startTime (the harness clock's start)`);
    }
    (frames[frame] ??= []).push(marble(symbol(value)));
  }
  return Array.from(frames, (symbols) =>
    symbols === undefined ? '-' : symbols.length === 1 ? (symbols[0] as string) : `(${symbols.join('')})`,
  ).join('');
}
