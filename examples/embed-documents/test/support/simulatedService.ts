/**
 * An embeddings service with a known cost, for measuring what dedupe saves:
 * an OpenAI-compatible server on 127.0.0.1 that embeds with the local ONNX
 * model and answers one request at a time after `msPerText` per text, like
 * one accelerator whose time grows with the texts it is sent. Prints its URL.
 *
 *   node --conditions=@tributary/source --import tsx --import ../../tsx-workers.mjs test/support/simulatedService.ts 2
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureEmbedderModel, onnxTextEmbedder } from '@tributary/onnx';
import { startEmbeddingsServer } from './embeddingsServer.js';

const msPerText = Number(process.argv[2] ?? '1');
const embedder = onnxTextEmbedder({ model: await ensureEmbedderModel(), sessionOptions: { intraOpNumThreads: 1 } }).create();
let line: Promise<unknown> = Promise.resolve();
const server = await startEmbeddingsServer((texts) => {
  // One request at a time: the next waits for the service to be free.
  const answer = line.then(async () => {
    await sleep(texts.length * msPerText);
    return embedder.invoke(texts);
  });
  line = answer.catch(() => undefined);
  return answer;
});
// Runs until killed (Ctrl-C or SIGTERM end the process).
process.stdout.write(`${server.baseUrl}\n`);
