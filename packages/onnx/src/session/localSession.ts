import { messageOf } from '@tributary/core';
import { InferenceSession } from 'onnxruntime-node';
import { buildFeeds, loadFeedsBuilder, type FeedsBuilder, type FeedsModule } from './feedsModule.js';
import type { SessionBatch } from './SessionRunner.js';

/**
 * A session and its feeds builder in the thread that runs them: the caller's
 * ({@link InThreadSession}, `maxWorkers: 0`) or a session worker's. Both open,
 * run and fail the same way here.
 */
export class LocalSession {
  private constructor(
    readonly session: InferenceSession,
    private readonly build: FeedsBuilder | undefined,
    private readonly label: string,
  ) {}

  /**
   * Creates the session and loads the builder; rejects naming the model when either fails, after releasing a
   * session created beside a builder that failed.
   */
  static async open(
    model: string | Uint8Array,
    sessionOptions: InferenceSession.SessionOptions,
    label: string,
    feeds: FeedsModule | undefined,
  ): Promise<LocalSession> {
    const create = (typeof model === 'string' ? InferenceSession.create(model, sessionOptions) : InferenceSession.create(model, sessionOptions)).catch(
      (error: unknown) => {
        throw new Error(`${label}: cannot create the inference session: ${String(error)}`, { cause: error });
      },
    );
    const builder = feeds === undefined ? Promise.resolve(undefined) : loadFeedsBuilder(feeds, label);
    try {
      const [session, build] = await Promise.all([create, builder]);
      return new LocalSession(session, build, label);
    } catch (error) {
      await create.then((session) => session.release()).catch(() => undefined);
      throw error;
    }
  }

  /** Runs the session once on the batch's feeds, or on those the builder makes of its inputs; a failed run names the model. */
  async run(batch: SessionBatch): Promise<InferenceSession.ReturnType> {
    const feeds = 'feeds' in batch ? batch.feeds : buildFeeds(this.build, batch.inputs, this.session.inputMetadata, this.label);
    try {
      return await this.session.run(feeds);
    } catch (error) {
      throw new Error(`${this.label}: ${messageOf(error)}`, { cause: error });
    }
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
