import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** Where an {@link OnnxBatchFunction}'s session runs: on worker threads of its own ({@link SessionPool}) or on the caller's ({@link InThreadSession}). */
export interface SessionRunner {
  /** The model's inputs once the (first) session exists; rejects when it cannot be created. */
  readonly inputs: Promise<readonly InferenceSession.ValueMetadata[]>;
  /** Runs the session once on these feeds. */
  run(feeds: Readonly<Record<string, Tensor>>): Promise<InferenceSession.ReturnType>;
  /** Releases the session(s); the caller has waited for its runs first. */
  close(): Promise<void>;
}
