import type { Logger } from '../logging/Logger.js';
import type { Clock } from '../runtime/Clock.js';
import type { Key } from '../runtime/keyGroups.js';
import type { MetricGroup } from '../metrics/MetricRegistry.js';
import type {
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from '../runtime/state/descriptors.js';
import type { OutputTag } from './OutputTag.js';

/** Receives the records a function emits. */
export interface Collector<T> {
  collect(value: T): void;
}

/**
 * What a rich function sees of the runtime in `open()`: where it runs, the
 * clock, metrics, the logger and (on keyed streams) keyed state.
 */
export interface RuntimeContext {
  readonly operatorName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly clock: Clock;
  readonly metrics: MetricGroup;
  /** The job's logger (the environment's `logger` option). */
  readonly logger: Logger;
  /** Keyed state; throws on a stream that is not keyed. */
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<TMapKey, TValue>(descriptor: MapStateDescriptor<TMapKey, TValue>): MapState<TMapKey, TValue>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
}

/**
 * Flink's rich function: optional `open` before the first record (acquire
 * clients, declare state) and `close` after the last (release them).
 */
export interface RichFunction {
  open?(ctx: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface MapFunction<TIn, TOut> extends RichFunction {
  map(value: TIn): TOut;
}

export interface FlatMapFunction<TIn, TOut> extends RichFunction {
  flatMap(value: TIn, out: Collector<TOut>): void;
}

export interface FilterFunction<TIn> extends RichFunction {
  filter(value: TIn): boolean;
}

export interface ReduceFunction<T> extends RichFunction {
  reduce(accumulator: T, value: T): T;
}

/** Processing-time services available to a process function. */
export interface TimerService {
  currentProcessingTime(): number;
}

/** Keyed timers: one timer per (key, timestamp); `onTimer` runs with that key in scope. */
export interface KeyedTimerService extends TimerService {
  registerProcessingTimeTimer(timestamp: number): void;
  deleteProcessingTimeTimer(timestamp: number): void;
}

export interface ProcessContext {
  readonly timerService: TimerService;
  /** Emits `value` to the side output named by `tag`. */
  output<S>(tag: OutputTag<S>, value: S): void;
}

export interface ProcessFunction<TIn, TOut> extends RichFunction {
  processElement(value: TIn, ctx: ProcessContext, out: Collector<TOut>): void;
}

export interface KeyedProcessContext<TKey extends Key> {
  readonly currentKey: TKey;
  readonly timerService: KeyedTimerService;
  output<S>(tag: OutputTag<S>, value: S): void;
}

export interface KeyedProcessFunction<TKey extends Key, TIn, TOut> extends RichFunction {
  processElement(value: TIn, ctx: KeyedProcessContext<TKey>, out: Collector<TOut>): void;
  /** Called when a timer registered for the current key fires. */
  onTimer?(timestamp: number, ctx: KeyedProcessContext<TKey>, out: Collector<TOut>): void;
}

/** Extracts the key of a record for `keyBy`. Must be deterministic and never return `undefined`. */
export type KeySelector<T, TKey extends Key> = (value: T) => TKey;
