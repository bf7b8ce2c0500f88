import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeValue, hostHeaderAllowed, messageOf, OptionChecker, type MetricRegistry } from '@tributary/core';
import type { Registry } from 'prom-client';
import { EXPORT_OPTIONS, exportRegistry, type PrometheusExportOptions } from './toPrometheusRegistry.js';

const SERVER_OPTIONS = ['registry', 'port', 'host', 'path', ...EXPORT_OPTIONS];

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions extends PrometheusExportOptions {
  /** The registry to serve: `env.metrics`, or the one you passed to `StreamExecutionEnvironment.create({ metrics })`. */
  readonly registry: MetricRegistry;
  /** TCP port; `0` picks a free one (read it from `url`/`port`). Default `0`. */
  readonly port?: number;
  /**
   * Interface to listen on, a non-empty string. Default `'127.0.0.1'`: only
   * this machine can scrape. Another address (`'0.0.0.0'`, `'::'`, a LAN IP)
   * is a deliberate choice: the endpoint has no authentication, so anyone who
   * can reach the port reads job, operator and metric names; put it behind a
   * firewall or an authenticating proxy.
   */
  readonly host?: string;
  /** Path of the exposition. Default `'/metrics'`. */
  readonly path?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where Prometheus scrapes, e.g. `http://127.0.0.1:41235/metrics`. */
  readonly url: string;
  readonly port: number;
  /** The prom-client registry behind the endpoint: register your own prom-client metrics on it to serve them too. */
  readonly prometheus: Registry;
  /** Stops listening and drops open connections (keep-alive scrapers included). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Serves a Tributary metric registry in the Prometheus text format over `node:http`.
 *
 * Details: `GET` (or `HEAD`) on `path` answers the current values (see
 * {@link toPrometheusRegistry} for names, labels and types); other paths answer
 * 404, other methods 405. A gauge whose callback throws reads NaN; if the
 * exposition cannot be built (two metrics of one series), the scrape answers
 * 500 with the error message. On a loopback address (the default) it answers
 * only requests named for this machine (`127.0.0.1`, `localhost`, `::1`),
 * others 403: a web page could otherwise point a DNS name at 127.0.0.1 and
 * read the metrics from the user's browser (DNS rebinding). The server does
 * not keep the process alive past your job only if you `close()` it: do so
 * when the job ends.
 *
 * @example
 * ```ts
 * const env = StreamExecutionEnvironment.create();
 * const server = await startMetricsServer({ registry: env.metrics, port: 9464 });
 * env.fromCollection(events).map(enrich).sinkTo(sink);
 * try {
 *   await env.execute('enrich');
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const check = new OptionChecker('startMetricsServer()');
  check.known(check.object(options), SERVER_OPTIONS);
  const { registry, port = 0, host: givenHost, path = '/metrics', ...exportOptions } = options;
  check.integer('port', port, 0, 65535);
  // '', null or a number would make Node listen on every interface.
  const host = check.optionalString('host', givenHost) ?? '127.0.0.1';
  if (!check.nonEmptyString('path', path).startsWith('/')) check.fail(`option 'path' must start with '/', got ${describeValue(path)}`);
  // Compared with each request's parsed path, which has no query or fragment and is percent-encoded.
  if (new URL(path, 'http://localhost').pathname !== path) {
    check.fail(`option 'path' must be a plain URL path (no query, fragment, spaces or characters to percent-encode), got ${describeValue(path)}`);
  }
  const prometheus = exportRegistry(check, registry, exportOptions);
  const handler = createMetricsHandler(prometheus);
  const server = createServer((req, res) => {
    if (!hostHeaderAllowed(req.headers.host, host)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('The metrics endpoint answers only requests addressed to this machine\n');
      return;
    }
    // A request-target that is no URL path (`//[`) is answered 404, never thrown.
    const target = req.url ?? '/';
    if (URL.canParse(target, 'http://localhost') && new URL(target, 'http://localhost').pathname === path) {
      handler(req, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`Not found: metrics are at ${path}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostname}:${address.port}${path}`,
    port: address.port,
    prometheus,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * A `node:http` request listener that answers with a prom-client registry's
 * exposition, to mount on a server you already run (plain `node:http`, or any
 * framework that hands you Node's `req`/`res`). It answers every path it is given:
 * route to it yourself.
 *
 * @example
 * ```ts
 * const metrics = createMetricsHandler(toPrometheusRegistry(env.metrics));
 * createServer((req, res) => (req.url === '/metrics' ? metrics(req, res) : app(req, res))).listen(8080);
 * ```
 */
export function createMetricsHandler(prometheus: Registry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    prometheus.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': prometheus.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`Collecting metrics failed: ${messageOf(error)}\n`);
      },
    );
  };
}
