// The entry of a session worker thread (see SessionPool): creates one session and loads the feeds builder if it has one,
// replies `ready` with the model's inputs (or `failed`), then runs the requests one at a time, in the order they came,
// and moves the output buffers back, until a stop request (after the runs before it) releases the session and ends the
// thread. The pool may send a request while another runs: the worker starts it as soon as that one returns.
import { parentPort, workerData } from 'node:worker_threads';
import { messageOf } from '@tributary/core';
import { LocalSession } from './localSession.js';
import { modelFileIdentity } from './modelFile.js';
import { errorToWire, tensorsFromWire, type RunRequest, type SessionWorkerData, type StopRequest, type WireTensor, type WorkerReply } from './wire.js';

if (parentPort !== null) {
  const port = parentPort;
  const { model, sessionOptions, label, feeds: feedsModule, busy, modelFile } = workerData as SessionWorkerData;
  const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const run = async (local: LocalSession, request: RunRequest): Promise<void> => {
    try {
      const results = await local.run('feeds' in request ? { feeds: tensorsFromWire(request.feeds) } : request);
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
      Atomics.sub(busy, 0, 1);
      Atomics.notify(busy, 0);
    }
  };

  const end = () => port.close();
  LocalSession.open(model, sessionOptions, label, feedsModule).then(
    async (local) => {
      // The pool's other workers run the file as the pool found it: one rewritten or replaced since would make this
      // worker run another model beside them.
      if (modelFile !== undefined && modelFileIdentity(model) !== modelFile) {
        await local.release().catch(() => undefined);
        reply({
          kind: 'failed',
          message: `${label}: the model file ${String(model)} changed since this instance opened it, so a new session would run another model than its others; close the instance (restart the job) to use the new file`,
        });
        end();
        return;
      }
      // One run at a time: `run` never rejects, so the chain goes on after a failed run.
      let previous = Promise.resolve();
      port.on('message', (request: RunRequest | StopRequest) => {
        previous = previous.then(() =>
          // Released here, not by tearing the thread down: onnxruntime-node aborts the process when a thread ends under a live session's run.
          'stop' in request ? local.release().then(end, end) : run(local, request),
        );
      });
      reply({ kind: 'ready', inputs: local.session.inputMetadata });
    },
    (error: unknown) => {
      reply({ kind: 'failed', message: messageOf(error) });
      end();
    },
  );
}
