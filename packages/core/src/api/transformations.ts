import type { Key } from '../runtime/keyGroups.js';
import type { OperatorFactory } from '../operators/StreamOperator.js';
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

export interface OperatorTransformation extends Base {
  readonly kind: 'operator';
  readonly input: Transformation;
  readonly factory: OperatorFactory<unknown, unknown>;
  /** Set when the operator runs on a keyed stream: the key of each record. */
  readonly keySelector: ((value: unknown) => Key) | undefined;
  /** `head`: always starts a new task (async operators, so their capacity is exact). */
  readonly chaining: 'always' | 'head';
  readonly isSink: boolean;
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
