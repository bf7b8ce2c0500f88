import type { InferenceSession } from 'onnxruntime-node';
import type { Feeds } from './feedsModule.js';

/**
 * One run's batch: feeds the caller built and checked, or plain inputs that the runner's feeds builder (a
 * {@link FeedsModule}) turns into feeds where the session runs.
 */
export type SessionBatch = { readonly feeds: Feeds } | { readonly inputs: readonly unknown[] };

/** Where an {@link OnnxBatchFunction}'s session runs: on worker threads of its own ({@link SessionPool}) or on the caller's ({@link InThreadSession}). */
export interface SessionRunner {
  /** The model's inputs once the (first) session exists, and its feeds builder if it has one; rejects when either cannot be made. */
  readonly inputs: Promise<readonly InferenceSession.ValueMetadata[]>;
  /** Runs the session once on this batch. */
  run(batch: SessionBatch): Promise<InferenceSession.ReturnType>;
  /** Releases the session(s); the caller has waited for its runs first. */
  close(): Promise<void>;
}
