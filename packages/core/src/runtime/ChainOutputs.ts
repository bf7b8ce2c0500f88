import type { Collector } from '../api/functions.js';
import type { OutputTag } from '../api/OutputTag.js';
import type { Counter } from '../metrics/MetricRegistry.js';
import { extractKey, type OneInputStreamOperator, type Output } from '../operators/StreamOperator.js';
import type { Key } from './keyGroups.js';
import { OperatorError } from './errors.js';

/** A collector that also takes whole chunks: every collector the runtime wires is one. */
export interface ChunkCollector<T> extends Collector<T> {
  collectChunk(values: readonly T[]): void;
}

/** Hands a chunk to an operator: in one call when it takes chunks, else record by record. */
function processChunk<T>(operator: OneInputStreamOperator<T>, values: readonly T[]): void {
  if (operator.processChunk !== undefined) operator.processChunk(values);
  else for (let i = 0; i < values.length; i++) operator.processElement(values[i] as T);
}

/** Feeds a chained operator: counts its input and tags its exceptions with its name. */
export class ChainedInput<T> implements ChunkCollector<T> {
  constructor(
    readonly operator: OneInputStreamOperator<T>,
    readonly recordsIn: Counter,
    readonly description: string,
  ) {}

  collect(value: T): void {
    this.recordsIn.count++;
    try {
      this.operator.processElement(value);
    } catch (error) {
      throw OperatorError.wrap(error, this.description);
    }
  }

  collectChunk(values: readonly T[]): void {
    this.recordsIn.count += values.length;
    try {
      processChunk(this.operator, values);
    } catch (error) {
      throw OperatorError.wrap(error, this.description);
    }
  }
}

/**
 * Feeds an operator chained behind a `keyBy` (both at parallelism 1): checks each record's key as the
 * edge's partitioner would at a higher parallelism, so a key the runtime cannot route fails the same
 * way at any parallelism, also into an operator that never reads the key (a sink).
 */
export class KeyCheckedInput<T> extends ChainedInput<T> {
  constructor(
    operator: OneInputStreamOperator<T>,
    recordsIn: Counter,
    description: string,
    private readonly key: { readonly selector: (value: T) => Key; readonly description: string },
  ) {
    super(operator, recordsIn, description);
  }

  override collect(value: T): void {
    extractKey(this.key.selector, value, this.key.description);
    super.collect(value);
  }

  override collectChunk(values: readonly T[]): void {
    const { selector, description } = this.key;
    for (let i = 0; i < values.length; i++) extractKey(selector, values[i] as T, description);
    super.collectChunk(values);
  }
}

/** Builds an operator's output, with a fast path for the common case of one main target and no side outputs. */
export function operatorOutput<T>(
  main: readonly ChunkCollector<T>[],
  side: ReadonlyMap<string, readonly Collector<unknown>[]>,
  recordsOut: Counter,
): ChunkOutput<T> {
  const only = main[0];
  if (main.length !== 1 || side.size !== 0 || only === undefined) return new OperatorOutput(main, side, recordsOut);
  return only instanceof ChainedInput ? new DirectChainedOutput(only, recordsOut) : new SingleTargetOutput(only, recordsOut);
}

/** An operator output the runtime wires: it takes chunks. */
export type ChunkOutput<T> = Output<T> & ChunkCollector<T>;

/** An output with exactly one target: one call per record, no loop. */
class SingleTargetOutput<T> implements ChunkOutput<T> {
  constructor(
    private readonly target: ChunkCollector<T>,
    protected readonly recordsOut: Counter,
  ) {}

  collect(value: T): void {
    this.recordsOut.count++;
    this.target.collect(value);
  }

  collectChunk(values: readonly T[]): void {
    this.recordsOut.count += values.length;
    this.target.collectChunk(values);
  }

  collectSide(): void {
    // No side outputs are wired: records emitted to them have no consumer.
  }
}

/**
 * The output of an operator whose only successor is chained to it: per
 * record, calls the successor's operator directly (one call per record and
 * operator, the hot path of chained per-record emitters), counting out and
 * in. Chunks go through the successor's input as usual.
 */
class DirectChainedOutput<T> extends SingleTargetOutput<T> {
  private readonly operator: OneInputStreamOperator<T>;
  private readonly recordsIn: Counter;
  private readonly description: string;

  constructor(next: ChainedInput<T>, recordsOut: Counter) {
    super(next, recordsOut);
    this.operator = next.operator;
    this.recordsIn = next.recordsIn;
    this.description = next.description;
  }

  override collect(value: T): void {
    this.recordsOut.count++;
    this.recordsIn.count++;
    try {
      this.operator.processElement(value);
    } catch (error) {
      throw OperatorError.wrap(error, this.description);
    }
  }
}

/** An operator's output: its chained successors and record writers, main and side, and its out-count. */
class OperatorOutput<T> implements ChunkOutput<T> {
  constructor(
    private readonly main: readonly ChunkCollector<T>[],
    private readonly side: ReadonlyMap<string, readonly Collector<unknown>[]>,
    private readonly recordsOut: Counter,
  ) {}

  collect(value: T): void {
    this.recordsOut.count++;
    const main = this.main;
    for (let i = 0; i < main.length; i++) (main[i] as ChunkCollector<T>).collect(value);
  }

  collectChunk(values: readonly T[]): void {
    this.recordsOut.count += values.length;
    for (const target of this.main) target.collectChunk(values);
  }

  collectSide<S>(tag: OutputTag<S>, value: S): void {
    const targets = this.side.get(tag.id);
    if (targets !== undefined) for (const t of targets) t.collect(value);
  }
}
