import { InferenceSession } from 'onnxruntime-node';
import { buildFeeds, loadFeedsBuilder, type FeedsBuilder, type FeedsModule } from './feedsModule.js';
import type { SessionBatch, SessionRunner } from './SessionRunner.js';

/**
 * One session on the caller's thread (`maxWorkers: 0`): no hop to a worker,
 * but onnxruntime-node runs it synchronously, so the caller's event loop
 * stops for the length of every run and calls in flight take turns. A feeds
 * builder runs here too.
 */
export class InThreadSession implements SessionRunner {
  readonly inputs: Promise<readonly InferenceSession.ValueMetadata[]>;
  private readonly session: Promise<InferenceSession>;
  private readonly builder: Promise<FeedsBuilder | undefined>;

  constructor(
    model: string | Uint8Array,
    sessionOptions: InferenceSession.SessionOptions,
    private readonly label: string,
    feeds: FeedsModule | undefined,
  ) {
    const create = typeof model === 'string' ? InferenceSession.create(model, sessionOptions) : InferenceSession.create(model, sessionOptions);
    this.session = create.catch((error: unknown) => {
      throw new Error(`${label}: cannot create the inference session: ${String(error)}`, { cause: error });
    });
    this.builder = feeds === undefined ? Promise.resolve(undefined) : loadFeedsBuilder(feeds, label);
    this.inputs = Promise.all([this.session, this.builder]).then(([session]) => session.inputMetadata);
    // Observed by whoever waits for the session; one closed before it opened must not leave it unhandled.
    this.inputs.catch(() => undefined);
  }

  async run(batch: SessionBatch): Promise<InferenceSession.ReturnType> {
    const session = await this.session;
    if ('feeds' in batch) return session.run(batch.feeds);
    return session.run(buildFeeds(await this.builder, batch.inputs, session.inputMetadata, this.label));
  }

  async close(): Promise<void> {
    const session = await this.session.catch(() => undefined);
    await session?.release();
  }
}
