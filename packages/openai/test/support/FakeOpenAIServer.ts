import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** The request fields the fake endpoints read (the whole JSON body is kept). */
export interface RequestBody {
  readonly model?: string;
  readonly input?: string[];
  readonly dimensions?: number;
  readonly encoding_format?: string;
  readonly messages?: { readonly role: string; readonly content: string }[];
  readonly [field: string]: unknown;
}

/** A request the fake server received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (a string if it was not JSON). */
  readonly body: RequestBody;
}

/** What `/v1/embeddings` answers normally. */
export interface EmbeddingsAnswer {
  readonly object: 'list';
  readonly model: string | undefined;
  readonly data: readonly { readonly object: 'embedding'; readonly index: number; readonly embedding: number[] | string }[];
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

/**
 * What the server does with a request: answer (JSON, raw text, or `endless`:
 * this text repeated until the client goes away, without a Content-Length;
 * or `partial`: the status, headers and this text, then the connection is
 * cut, or left open with `thenHang`), never answer (`'hang'`, until the
 * client gives up), or cut the connection (`'destroy'`).
 */
export type Reply =
  | {
      readonly status?: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly json?: unknown;
      readonly text?: string;
      readonly endless?: string;
      readonly partial?: string;
      readonly thenHang?: boolean;
    }
  | 'hang'
  | 'destroy';

/** Decides the reply to a request; `normal()` is what the endpoint would answer. `undefined` means the normal answer. */
export type Handler<TAnswer = unknown> = (request: RecordedRequest, normal: () => TAnswer) => Reply | undefined | Promise<Reply | undefined>;

export type Path = '/v1/embeddings' | '/v1/chat/completions';

/**
 * A deterministic embedding: counts of hashed character trigrams (FNV-1a) in
 * `dims` buckets, L2-normalized, so texts sharing trigrams point the same way.
 */
export function trigramEmbedding(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  const padded = `  ${text} `;
  for (let i = 0; i + 3 <= padded.length; i++) {
    let h = 0x811c9dc5;
    for (let j = i; j < i + 3; j++) h = Math.imul(h ^ padded.charCodeAt(j), 0x01000193) >>> 0;
    v[h % dims]! += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

/** The chat model of the fake server: it answers the last user message in upper case. */
export function fakeChatAnswer(messages: readonly { role: string; content: string }[]): string {
  return [...messages].reverse().find((m) => m.role === 'user')?.content.toUpperCase() ?? '';
}

/**
 * An OpenAI-compatible server on 127.0.0.1 (port 0) for the tests: `/v1/embeddings`
 * answers {@link trigramEmbedding}s (8 dimensions unless `dimensions` is sent;
 * base64 when `encoding_format: 'base64'`), `/v1/chat/completions` answers
 * {@link fakeChatAnswer}. Replies can be scripted per request.
 */
export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  /** Requests whose connection closed before their answer was sent (client aborts). */
  abandoned = 0;
  /** Bytes of `endless` bodies handed to the socket so far. */
  endlessBytes = 0;
  private readonly once = new Map<Path, (Reply | Handler<never>)[]>();
  private readonly handlers = new Map<Path, Handler<never>>();
  private readonly waiters = new Set<() => void>();
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.serve(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
  }

  /** Starts listening on a free port of 127.0.0.1. */
  listen(): Promise<void> {
    return new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  /** Forgets the requests, the abandoned count and every scripted reply: the next test meets the default server. */
  reset(): void {
    this.requests.length = 0;
    this.abandoned = 0;
    this.endlessBytes = 0;
    this.once.clear();
    this.handlers.clear();
  }

  /** The API root to give the adapters, e.g. `http://127.0.0.1:41234/v1`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Scripts the reply to the next request on `path` (queued: call it again for the one after). */
  next(path: '/v1/embeddings', reply: Reply | Handler<EmbeddingsAnswer>): this;
  next(path: '/v1/chat/completions', reply: Reply | Handler): this;
  next(path: Path, reply: Reply | Handler<never>): this {
    this.once.set(path, [...(this.once.get(path) ?? []), reply]);
    return this;
  }

  /** Decides the replies on `path` from now on (after the queued `next` ones). */
  handle(path: Path, handler: Handler<never>): this {
    this.handlers.set(path, handler);
    return this;
  }

  /** Resolves once `n` requests have arrived in total. */
  waitForRequests(n: number): Promise<void> {
    return this.waitUntil(() => this.requests.length >= n);
  }

  /** Resolves once `n` requests were abandoned by the client. */
  waitForAbandoned(n: number): Promise<void> {
    return this.waitUntil(() => this.abandoned >= n);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private waitUntil(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!condition()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async serve(method: string, url: string, headers: IncomingHttpHeaders, raw: string, res: ServerResponse): Promise<void> {
    let body: RequestBody;
    try {
      body = JSON.parse(raw) as RequestBody;
    } catch {
      body = raw as unknown as RequestBody;
    }
    const request: RecordedRequest = { method, path: url, headers, body };
    this.requests.push(request);
    res.on('close', () => {
      if (!res.writableFinished) {
        this.abandoned++;
        this.changed();
      }
    });
    this.changed();

    const path = url as Path;
    const normal = (): never => this.normal(request) as never;
    const scripted = this.once.get(path)?.shift() ?? this.handlers.get(path);
    const known = path === '/v1/embeddings' || path === '/v1/chat/completions';
    const reply = (typeof scripted === 'function' ? await scripted(request, normal) : scripted) ??
      (known ? { json: normal() } : { status: 404, json: { error: { message: `no route ${url}` } } });
    if (reply === 'hang') return;
    if (reply === 'destroy') {
      res.socket?.destroy();
      return;
    }
    if (reply.endless !== undefined) {
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      // Whole 16 KiB chunks: the text alone can be a few bytes, and a write per few bytes is slow.
      this.pump(res, Buffer.from(reply.endless.repeat(Math.ceil(16_384 / reply.endless.length))));
      return;
    }
    if (reply.partial !== undefined) {
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      // Cut once the text is handed to the socket, so the client has the headers and this much of the body.
      res.write(reply.partial, () => {
        if (reply.thenHang !== true) res.socket?.destroy();
      });
      return;
    }
    const text = reply.text ?? JSON.stringify(reply.json);
    res.writeHead(reply.status ?? 200, { 'content-type': reply.text === undefined ? 'application/json' : 'text/plain', ...reply.headers });
    res.end(text);
  }

  /** Writes `chunk` whenever the socket has room, until the client closes the connection. */
  private pump(res: ServerResponse, chunk: Buffer): void {
    const write = (): void => {
      let room = true;
      while (room && !res.destroyed) {
        room = res.write(chunk);
        this.endlessBytes += chunk.byteLength;
      }
    };
    res.on('drain', write);
    write();
  }

  private normal(request: RecordedRequest): unknown {
    const { body } = request;
    if (request.path === '/v1/embeddings') {
      const dims = body.dimensions ?? 8;
      const base64 = body.encoding_format === 'base64';
      return {
        object: 'list',
        model: body.model,
        data: (body.input ?? []).map((text, index) => {
          const vector = trigramEmbedding(text, dims);
          return {
            object: 'embedding',
            index,
            embedding: base64 ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector,
          };
        }),
        usage: { prompt_tokens: 1, total_tokens: 1 },
      } satisfies EmbeddingsAnswer;
    }
    if (request.path === '/v1/chat/completions') {
      return {
        id: `chatcmpl-${this.requests.length}`,
        object: 'chat.completion',
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: fakeChatAnswer(body.messages ?? []) }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      };
    }
    throw new Error(`no normal answer for ${request.path}`);
  }
}

/** The fake server of a test file: listening from `beforeAll`, reset before each test, closed after the file. */
export function useFakeOpenAIServer(): FakeOpenAIServer {
  const server = new FakeOpenAIServer();
  beforeAll(() => server.listen());
  beforeEach(() => {
    server.reset();
  });
  afterAll(() => server.close());
  return server;
}
