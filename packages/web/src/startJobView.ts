import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeValue, hostHeaderAllowed, OptionChecker, type JobClient } from '@tributary/core';
import { JobTracker } from './JobTracker.js';
import { MetricSampler } from './MetricSampler.js';
import { loadPageAssets, type PageAsset } from './pageAssets.js';
import { UpdateStream } from './UpdateStream.js';

const VIEW_OPTIONS = ['port', 'host'];
/** The page's own files only: no inline script, nothing from another origin. uPlot sizes its canvases with inline styles. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Options of {@link startJobView}. */
export interface JobViewOptions {
  /** TCP port; `0` picks a free one (read it from `url`). Default `0`. */
  readonly port?: number;
  /**
   * Interface to listen on, a non-empty string. Default `'127.0.0.1'`: only
   * this machine can open the view. Another address is a deliberate choice:
   * the view has no authentication, so anyone who reaches the port reads the
   * job's graph, metrics and failure messages.
   */
  readonly host?: string;
}

/** A running job view. */
export interface JobViewServer {
  /** The page, e.g. `http://127.0.0.1:41235/`. */
  readonly url: string;
  /** Stops serving and closes open pages' connections. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Serves a live view of a running job in the browser, read-only: the job
 * graph with records per second, busy and backpressured time per operator,
 * the async operators' batches, latencies and limits, checkpoints, restarts
 * with their causes, and each operator's subtasks. The page updates every
 * second over Server-Sent Events and keeps the final state once the job ends.
 *
 * Details: the same data is JSON at `/api/job`, `/api/metrics` and the event
 * stream `/api/events` (see docs/observability.md). The view learns of
 * restarts and checkpoints from the job's events from the moment you call it:
 * call it right after `executeAsync()`. It samples the metrics only while a
 * page is open. Like any server it keeps the process alive until you
 * `close()` it: leave it open to look at the finished job, close it when done.
 *
 * @example
 * ```ts
 * const job = env.executeAsync('embed');
 * const view = await startJobView(job);
 * console.log(`watch the job at ${view.url}`);
 * await job.result;
 * await view.close();
 * ```
 */
export async function startJobView(client: JobClient, options: JobViewOptions = {}): Promise<JobViewServer> {
  const check = new OptionChecker('startJobView()');
  if (typeof (client as Partial<JobClient> | null)?.onEvent !== 'function' || typeof (client as Partial<JobClient>).graph !== 'function') {
    check.fail(`needs the JobClient of a running job (env.executeAsync()), got ${describeValue(client)}`);
  }
  check.known(check.object(options), VIEW_OPTIONS);
  const port = check.optionalInteger('port', options.port, 0, 0, 65535);
  // '', null or a number would make Node listen on every interface.
  const host = check.optionalString('host', options.host) ?? '127.0.0.1';

  const tracker = new JobTracker(client);
  const sampler = new MetricSampler(client.metrics, client.graph(), client.jobId);
  const updates = new UpdateStream(() => ({ job: tracker.view(), metrics: sampler.sample() }));
  void tracker.ended.then(() => {
    // The final counts, whatever the last sample was: the page keeps them.
    sampler.end();
    updates.end();
  });

  let assets: ReadonlyMap<string, PageAsset>;
  try {
    assets = await loadPageAssets();
  } catch (error) {
    tracker.close();
    throw error;
  }
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!hostHeaderAllowed(req.headers.host, host)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('The job view answers only requests addressed to this machine\n');
      return;
    }
    // A request-target that is no URL path (`//[`) is the client's error: answered, never thrown.
    const target = req.url ?? '/';
    if (!URL.canParse(target, 'http://localhost')) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('Bad request: the request-target is not a URL path\n');
      return;
    }
    const path = new URL(target, 'http://localhost').pathname;
    if (path === '/api/events') return req.method === 'HEAD' ? updates.head(res) : updates.open(res);
    if (path === '/api/job') return json(res, req, tracker.view());
    if (path === '/api/metrics') return json(res, req, sampler.sample());
    // Browsers ask for it unbidden: no icon, and no error in the page's console.
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    const asset = assets.get(path);
    if (asset === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the view is at /, its data at /api/job, /api/metrics and /api/events\n');
      return;
    }
    res.writeHead(200, { 'content-type': asset.contentType, 'content-length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    tracker.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostname}:${address.port}/`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        tracker.close();
        updates.close();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function json(res: ServerResponse, req: IncomingMessage, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : text);
}
