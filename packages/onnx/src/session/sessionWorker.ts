// The entry of a session worker thread (see SessionPool): creates one session, replies `ready` with the model's inputs
// (or `failed`), then runs one request at a time and moves the output buffers back, until a stop request releases the
// session and ends the thread.
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { RunRequest, SessionWorkerData, StopRequest, WireTensor, WorkerReply } from './wire.js';

if (parentPort !== null) {
  const port = parentPort;
  const { model, sessionOptions, busy } = workerData as SessionWorkerData;
  const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const run = async (session: InferenceSession, request: RunRequest): Promise<void> => {
    try {
      const feeds: Record<string, Tensor> = {};
      for (const [name, { type, data, dims }] of Object.entries(request.feeds)) feeds[name] = new Tensor(type, data, dims);
      const results = await session.run(feeds);
      const outputs: Record<string, WireTensor> = {};
      const transfer = new Set<ArrayBuffer>();
      for (const [name, value] of Object.entries(results)) {
        const { type, dims, data } = value;
        outputs[name] = { type, dims, data };
        if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) transfer.add(data.buffer);
      }
      reply({ kind: 'result', outputs }, [...transfer]);
    } catch (error) {
      reply({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    } finally {
      Atomics.store(busy, 0, 0);
      Atomics.notify(busy, 0);
    }
  };

  const end = () => port.close();
  const create = typeof model === 'string' ? InferenceSession.create(model, sessionOptions) : InferenceSession.create(model, sessionOptions);
  create.then(
    (session) => {
      port.on('message', (request: RunRequest | StopRequest) => {
        if ('feeds' in request) void run(session, request);
        // Released here, not by tearing the thread down: onnxruntime-node aborts the process when a thread ends under a live session's run.
        else void session.release().then(end, end);
      });
      reply({ kind: 'ready', inputs: session.inputMetadata });
    },
    (error: unknown) => {
      reply({ kind: 'failed', message: String(error) });
      end();
    },
  );
}
