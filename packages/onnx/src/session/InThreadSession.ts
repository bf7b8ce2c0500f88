import { InferenceSession, type Tensor } from 'onnxruntime-node';
import type { SessionRunner } from './SessionRunner.js';

/**
 * One session on the caller's thread (`maxWorkers: 0`): no hop to a worker,
 * but onnxruntime-node runs it synchronously, so the caller's event loop
 * stops for the length of every run and calls in flight take turns.
 */
export class InThreadSession implements SessionRunner {
  readonly inputs: Promise<readonly InferenceSession.ValueMetadata[]>;
  private readonly session: Promise<InferenceSession>;

  constructor(model: string | Uint8Array, sessionOptions: InferenceSession.SessionOptions, label: string) {
    const create = typeof model === 'string' ? InferenceSession.create(model, sessionOptions) : InferenceSession.create(model, sessionOptions);
    this.session = create.catch((error: unknown) => {
      throw new Error(`${label}: cannot create the inference session: ${String(error)}`, { cause: error });
    });
    this.inputs = this.session.then((session) => session.inputMetadata);
    // Observed by whoever waits for the session; one closed before it opened must not leave it unhandled.
    this.inputs.catch(() => undefined);
  }

  async run(feeds: Readonly<Record<string, Tensor>>): Promise<InferenceSession.ReturnType> {
    return (await this.session).run(feeds);
  }

  async close(): Promise<void> {
    const session = await this.session.catch(() => undefined);
    await session?.release();
  }
}
