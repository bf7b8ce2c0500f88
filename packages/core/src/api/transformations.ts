import type { Key } from '../runtime/keyGroups.js';
import type { OperatorFactory } from '../operators/StreamOperator.js';
import type { Sink } from './Sink.js';
import type { Source } from './Source.js';

/**
 * The logical graph the API builds: one node per call on a stream.
 * `partition`, `union` and `sideOutput` are virtual (they shape edges, they
 * run nothing); the compiler turns the rest into operators and tasks.
 */
interface Base {
  readonly id: number;
  /** The `execute()` round this node belongs to: a stream cannot be reused after its job ran. */
  readonly generation: number;
  name: string;
  uid: string | undefined;
  parallelism: number | undefined;
}

export interface SourceTransformation extends Base {
  readonly kind: 'source';
  readonly source: Source<unknown>;
}

/**
 * How an operator is placed into tasks (see `TransformOptions.chaining`):
 * - `always`: chained to its input wherever no repartitioning is needed;
 * - `head`: starts a new task, so the task's backpressure check sits right in front of it;
 * - `first`: the first operator of its task: chained straight after a source
 *   that feeds only it, else starting a new task. Either way the task's input
 *   enters at the operator, so one that bounds its input (`freeCapacity`, the
 *   async operators) gets no more records than it takes.
 */
export type Chaining = 'always' | 'head' | 'first';

export interface OperatorTransformation extends Base {
  readonly kind: 'operator';
  readonly input: Transformation;
  readonly factory: OperatorFactory<unknown, unknown>;
  /** Set when the operator runs on a keyed stream: the key of each record. */
  readonly keySelector: ((value: unknown) => Key) | undefined;
  readonly chaining: Chaining;
  readonly isSink: boolean;
  /** The connector of a `sinkTo()` sink: the runtime locks the directory it writes by itself, if any. */
  readonly sink?: Sink<unknown> | undefined;
  /** Ids of side outputs that some operator must read (dead letters): see `TransformOptions.requiredSideOutputs`. */
  readonly requiredSideOutputs: readonly string[];
}

export interface PartitionTransformation extends Base {
  readonly kind: 'partition';
  readonly input: Transformation;
  readonly partitioning: 'hash' | 'rebalance';
  readonly keySelector?: (value: unknown) => Key;
}

export interface UnionTransformation extends Base {
  readonly kind: 'union';
  readonly inputs: readonly Transformation[];
}

export interface SideOutputTransformation extends Base {
  readonly kind: 'sideOutput';
  readonly input: Transformation;
  readonly tagId: string;
}

export type Transformation =
  | SourceTransformation
  | OperatorTransformation
  | PartitionTransformation
  | UnionTransformation
  | SideOutputTransformation;

/** A transformation that becomes an operator (or source) at runtime. */
export type PhysicalTransformation = SourceTransformation | OperatorTransformation;
