// The entry of a session worker thread (see SessionPool): creates one session and loads the feeds builder if it has one,
// replies `ready` with the model's inputs (or `failed`), then runs one request at a time and moves the output buffers
// back, until a stop request releases the session and ends the thread.
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession } from 'onnxruntime-node';
import { messageOf } from '@tributary/core';
import { buildFeeds, loadFeedsBuilder, type FeedsBuilder } from './feedsModule.js';
import { errorToWire, tensorsFromWire, type RunRequest, type SessionWorkerData, type StopRequest, type WireTensor, type WorkerReply } from './wire.js';

if (parentPort !== null) {
  const port = parentPort;
  const { model, sessionOptions, label, feeds: feedsModule, busy } = workerData as SessionWorkerData;
  const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const run = async (session: InferenceSession, build: FeedsBuilder | undefined, request: RunRequest): Promise<void> => {
    try {
      const feeds = 'feeds' in request ? tensorsFromWire(request.feeds) : buildFeeds(build, request.inputs, session.inputMetadata, label);
      const results = await session.run(feeds).catch((error: unknown) => {
        throw new Error(`${label}: ${messageOf(error)}`, { cause: error });
      });
      const outputs: Record<string, WireTensor> = {};
      const transfer = new Set<ArrayBuffer>();
      for (const [name, value] of Object.entries(results)) {
        const { type, dims, data } = value;
        outputs[name] = { type, dims, data };
        if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
      }
      reply({ kind: 'result', outputs }, [...transfer]);
    } catch (error) {
      reply(errorToWire(error));
    } finally {
      Atomics.store(busy, 0, 0);
      Atomics.notify(busy, 0);
    }
  };

  const end = () => port.close();
  const create = (typeof model === 'string' ? InferenceSession.create(model, sessionOptions) : InferenceSession.create(model, sessionOptions)).catch(
    (error: unknown) => {
      throw new Error(`${label}: cannot create the inference session: ${String(error)}`, { cause: error });
    },
  );
  const builder = feedsModule === undefined ? Promise.resolve(undefined) : loadFeedsBuilder(feedsModule, label);
  Promise.all([create, builder]).then(
    ([session, build]) => {
      port.on('message', (request: RunRequest | StopRequest) => {
        if ('stop' in request) {
          // Released here, not by tearing the thread down: onnxruntime-node aborts the process when a thread ends under a live session's run.
          void session.release().then(end, end);
        } else void run(session, build, request);
      });
      reply({ kind: 'ready', inputs: session.inputMetadata });
    },
    async (error: unknown) => {
      // A session created next to a builder that failed to load is released before the thread ends.
      await create.then((session) => session.release()).catch(() => undefined);
      reply({ kind: 'failed', message: messageOf(error) });
      end();
    },
  );
}
