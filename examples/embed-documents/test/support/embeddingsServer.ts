import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible embeddings server (`POST /v1/embeddings`) on
 * 127.0.0.1 that answers with `embed(texts)`, and logs the batch sizes it saw.
 */
export async function startEmbeddingsServer(embed: (texts: string[]) => Promise<Float32Array[]>) {
  const batches: number[] = [];
  const models = new Set<string>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
        return;
      }
      const { input, model } = JSON.parse(body) as { input: string[]; model: string };
      batches.push(input.length);
      models.add(model);
      embed(input).then(
        (vectors) => {
          // Reversed, as a server may answer: `index` says which input each embedding belongs to.
          const data = vectors.map((v, index) => ({ object: 'embedding', index, embedding: Array.from(v) })).reverse();
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model }));
        },
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    batches,
    models,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
