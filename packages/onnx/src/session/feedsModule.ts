import { messageOf } from '@tributary/core';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { validateFeeds } from '../batch/validateFeeds.js';

/** A model's named input tensors for one batch. */
export type Feeds = Readonly<Record<string, Tensor>>;

/** Builds a batch's feeds from its plain inputs, in the thread that runs the session. */
export type FeedsBuilder = (inputs: readonly unknown[]) => Feeds;

/**
 * A feeds builder named by data, as a task slot names its job module: a
 * function cannot cross to a session worker, this can, so the worker loads
 * the builder and builds the feeds next to its session (the text embedder
 * tokenizes there). `(await import(module))[name](options)` is the builder.
 */
export interface FeedsModule {
  /** URL of the ES module (its `import.meta.url`). */
  readonly module: string;
  /** The module's export: a factory taking `options`, returning a {@link FeedsBuilder}. */
  readonly name: string;
  /** Plain data (it is cloned to every worker), given to the factory once per thread. */
  readonly options: unknown;
}

/** Loads the builder in this thread; rejects with an error naming the model and the module. */
export async function loadFeedsBuilder(spec: FeedsModule, label: string): Promise<FeedsBuilder> {
  try {
    const factory: unknown = ((await import(spec.module)) as Record<string, unknown>)[spec.name];
    if (typeof factory !== 'function') throw new TypeError(`the module exports no function '${spec.name}'`);
    return (factory as (options: unknown) => FeedsBuilder)(spec.options);
  } catch (error) {
    throw new Error(`${label}: cannot load the feeds builder '${spec.name}' of ${spec.module}: ${messageOf(error)}`, { cause: error });
  }
}

/** The builder's feeds for `inputs`, checked against the model's inputs (a mismatch throws `OnnxInputError`); a builder that throws is named. */
export function buildFeeds(
  build: FeedsBuilder | undefined,
  inputs: readonly unknown[],
  metadata: readonly InferenceSession.ValueMetadata[],
  label: string,
): Feeds {
  if (build === undefined) throw new Error(`${label}: a batch brought inputs for a session without a feeds builder`);
  let feeds: Feeds;
  try {
    feeds = build(inputs);
  } catch (error) {
    throw new Error(`${label}: the feeds builder failed: ${messageOf(error)}`, { cause: error });
  }
  validateFeeds(feeds, metadata, label);
  return feeds;
}

/**
 * Feeds built where the session runs (on its worker, by default) by a builder named by data: the caller only maps a
 * batch's records to the builder's plain inputs. Internal (the text embedder's): `feeds` of `onnxBatchFunction` is a
 * function of the caller's.
 */
export class SessionFeeds<TIn> {
  constructor(
    /** Loaded by the thread of every session. */
    readonly builder: FeedsModule,
    /** On the caller: the batch's records as the builder's inputs (cloned to the worker); `label` names the model in errors. */
    readonly inputs: (records: readonly TIn[], label: string) => unknown[],
  ) {}
}
