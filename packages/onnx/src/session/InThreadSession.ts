import type { InferenceSession } from 'onnxruntime-node';
import type { FeedsModule } from './feedsModule.js';
import { LocalSession } from './localSession.js';
import type { SessionBatch, SessionRunner } from './SessionRunner.js';

/**
 * One session on the caller's thread (`maxWorkers: 0`): no hop to a worker,
 * but onnxruntime-node runs it synchronously, so the caller's event loop
 * stops for the length of every run and calls in flight take turns. A feeds
 * builder runs here too.
 */
export class InThreadSession implements SessionRunner {
  readonly inputs: Promise<readonly InferenceSession.ValueMetadata[]>;
  private readonly opened: Promise<LocalSession>;

  constructor(model: string | Uint8Array, sessionOptions: InferenceSession.SessionOptions, label: string, feeds: FeedsModule | undefined) {
    this.opened = LocalSession.open(model, sessionOptions, label, feeds);
    this.inputs = this.opened.then((local) => local.session.inputMetadata);
    // Observed by whoever waits for the session; one closed before it opened must not leave it unhandled.
    this.inputs.catch(() => undefined);
  }

  async run(batch: SessionBatch): Promise<InferenceSession.ReturnType> {
    return (await this.opened).run(batch);
  }

  async close(): Promise<void> {
    const local = await this.opened.catch(() => undefined);
    await local?.release();
  }
}
