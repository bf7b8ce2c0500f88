import type { MessagePort } from 'node:worker_threads';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { RunRequest, StopRequest, WireTensor, WorkerReply } from './wire.js';

/** What a session worker starts with: where onnxruntime-node is, and the session to create. */
export interface SessionWorkerData {
  /** The main thread's resolved `onnxruntime-node` entry: the worker loads the same copy. */
  readonly runtimePath: string;
  readonly model: string | Uint8Array;
  readonly sessionOptions: InferenceSession.SessionOptions;
  /** Cleared (to 0, with a notify) once each run has returned: the starting thread waits for it at exit (see runsAtExit). */
  readonly busy: Int32Array;
}

interface WorkerThreads {
  readonly parentPort: MessagePort;
  readonly workerData: SessionWorkerData;
}

interface Runtime {
  readonly InferenceSession: { create(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: new (type: Tensor.Type, data: Tensor.DataType, dims: readonly number[]) => Tensor;
}

/**
 * The body of a session worker. It runs from its source text (see
 * {@link SESSION_WORKER_SOURCE}), so it reaches modules only through `load`
 * (the worker's `require`) and names nothing outside itself: the same code
 * then runs from the TypeScript sources in tests and from `dist/`, on every
 * Node.js line, without a loader.
 *
 * It creates one session, replies `ready` with the model's inputs (or
 * `failed`), then runs one request at a time and moves the output buffers
 * back, until a stop request releases the session and ends the thread.
 */
function sessionWorkerMain(load: (id: string) => unknown): void {
  const { parentPort: port, workerData } = load('node:worker_threads') as WorkerThreads;
  const runtime = load(workerData.runtimePath) as Runtime;
  const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const run = async (session: InferenceSession, request: RunRequest): Promise<void> => {
    try {
      const feeds: Record<string, Tensor> = {};
      for (const [name, { type, data, dims }] of Object.entries(request.feeds)) feeds[name] = new runtime.Tensor(type, data, dims);
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
      Atomics.store(workerData.busy, 0, 0);
      Atomics.notify(workerData.busy, 0);
    }
  };

  const end = () => port.close();
  runtime.InferenceSession.create(workerData.model, workerData.sessionOptions).then(
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

/**
 * The worker's code, for `new Worker(source, { eval: true })`: eval workers run as CommonJS scripts, with `require`.
 * Loaded through esbuild (tsx, as in a slot under test), the function's text calls esbuild's `__name` helper, which
 * the eval worker lacks: it gets a stand-in.
 */
export const SESSION_WORKER_SOURCE = `var __name = (target) => target;\n(${sessionWorkerMain.toString()})(require);`;
