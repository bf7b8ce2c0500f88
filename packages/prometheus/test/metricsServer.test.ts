import { request } from 'node:http';
import { InvalidJobError, MetricRegistry, StreamExecutionEnvironment, subtaskForKey } from '@tributary/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../src/index.js';
import { parseExposition, scrape, sumOf, valueOf } from './support/exposition.js';

const servers: MetricsServer[] = [];
async function serve(options: Parameters<typeof startMetricsServer>[0]): Promise<MetricsServer> {
  const server = await startMetricsServer(options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('startMetricsServer', () => {
  it('serves the record counts of a finished job over HTTP', async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const server = await serve({ registry: env.metrics });
    const values = Array.from({ length: 100 }, (_, i) => i);
    const kept = values.filter((n) => n % 5 !== 0);
    env
      .fromCollection(values)
      .map((n) => n * 2)
      .name('double')
      .filter((n) => n % 10 !== 0)
      .name('drop tens')
      .keyBy((n) => n % 7)
      .map((n) => n + 1)
      .name('inc')
      .addSink(() => undefined);

    await env.execute('scrape me');
    const response = await scrape(server.url);
    expect(response.status).toBe(200);
    expect(response.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = parseExposition(response.body);
    const job = { job_name: 'scrape me' };

    expect(text.types.get('tributary_operator_records_in_total')).toBe('counter');
    expect(sumOf(text, 'tributary_operator_records_in_total', { ...job, operator: 'double' })).toBe(100);
    expect(sumOf(text, 'tributary_operator_records_out_total', { ...job, operator: 'double' })).toBe(100);
    expect(sumOf(text, 'tributary_operator_records_in_total', { ...job, operator: 'drop tens' })).toBe(100);
    expect(sumOf(text, 'tributary_operator_records_out_total', { ...job, operator: 'drop tens' })).toBe(kept.length);
    // After keyBy each subtask gets exactly the keys routed to it.
    for (const subtask of [0, 1]) {
      const routed = kept.filter((n) => subtaskForKey((n * 2) % 7, 2) === subtask).length;
      expect(valueOf(text, 'tributary_operator_records_in_total', { ...job, operator: 'inc', subtask: String(subtask) })).toBe(routed);
      expect(valueOf(text, 'tributary_operator_records_out_total', { ...job, operator: 'inc', subtask: String(subtask) })).toBe(routed);
    }
    expect(sumOf(text, 'tributary_operator_records_in_total', { ...job, operator: 'inc' })).toBe(kept.length);
  });

  it('answers HEAD, 404 elsewhere, 405 for other methods, NaN for a gauge that throws and 500 when the exposition fails', async () => {
    const registry = new MetricRegistry();
    let broken = false;
    registry.group('app').gauge('temperature', () => {
      if (broken) throw new Error('sensor unplugged');
      return 21;
    });
    registry.group('app').counter('requests').inc(5);
    const server = await serve({ registry, path: '/prom' });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/prom`);

    const head = await scrape(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await scrape(`${server.url}?x=1`)).body).toContain('tributary_app_temperature 21');
    expect((await scrape(server.url.replace('/prom', '/metrics'))).status).toBe(404);
    expect((await scrape(server.url, { method: 'POST' })).status).toBe(405);

    // One broken gauge (it reads what its operator's close() released) must not hide every other metric.
    broken = true;
    const scraped = await scrape(server.url);
    expect(scraped.status).toBe(200);
    // prom-client writes NaN as `Nan`, which Prometheus reads as NaN (Go's ParseFloat ignores the case).
    expect(scraped.body).toMatch(/^tributary_app_temperature nan$/im);
    expect(scraped.body).toContain('tributary_app_requests_total 5');

    registry.group('app').counter('requests-').inc(1);
    registry.group('app').counter('requests_').inc(1);
    const failed = await scrape(server.url);
    expect(failed.status).toBe(500);
    expect(failed.body).toContain("'app.requests-' and 'app.requests_' both map to the Prometheus series");
  });

  it('refuses requests named for another host on loopback (DNS rebinding), and answers those named for this machine', async () => {
    const server = await serve({ registry: new MetricRegistry() });
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: server.port, path: '/metrics', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await status('attacker.example')).toBe(403);
    expect(await status(`attacker.example:${server.port}`)).toBe(403);
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LOCALHOST:${server.port}`, `[::1]:${server.port}`]) expect(await status(host)).toBe(200);
  });

  it('answers a request-target that is no URL path with 404, and goes on serving', async () => {
    const server = await serve({ registry: new MetricRegistry() });
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: server.port, path: '//[' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(404);
    expect((await scrape(server.url)).status).toBe(200);
  });

  it('closes, also twice, and frees the port', async () => {
    const server = await serve({ registry: new MetricRegistry() });
    expect((await scrape(server.url)).status).toBe(200);
    await server.close();
    await server.close();
    await expect(scrape(server.url)).rejects.toThrow();
  });

  it('rejects a bad port or path with an InvalidJobError naming the option', async () => {
    const registry = new MetricRegistry();
    await expect(startMetricsServer({ registry, port: 70000 })).rejects.toThrow(
      new InvalidJobError(`startMetricsServer(): option 'port' must be an integer in [0, 65535], got 70000`),
    );
    await expect(startMetricsServer({ registry, path: 'metrics' })).rejects.toThrow(
      new InvalidJobError(`startMetricsServer(): option 'path' must start with '/', got 'metrics'`),
    );
    // A request's path never has these as they are: the server could never answer.
    for (const path of ['/m?x=1', '/m#frag', '/métriques', '/a b']) {
      await expect(startMetricsServer({ registry, path })).rejects.toThrow(
        new InvalidJobError(
          `startMetricsServer(): option 'path' must be a plain URL path (no query, fragment, spaces or characters to percent-encode), got '${path}'`,
        ),
      );
    }
  });

  // Each of these made Node listen on every interface.
  it.each([
    ['an empty string', '', "''"],
    ['null', null, 'null'],
    ['a number', 0, '0'],
  ])('rejects %s as host instead of binding all interfaces', async (_, host, shown) => {
    await expect(startMetricsServer({ registry: new MetricRegistry(), host: host as string })).rejects.toThrow(
      new InvalidJobError(`startMetricsServer(): option 'host' must be a non-empty string, got ${shown}`),
    );
  });

  it('listens on loopback by default and on the host it is given', async () => {
    expect((await serve({ registry: new MetricRegistry() })).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const local = await serve({ registry: new MetricRegistry(), host: 'localhost' });
    expect((await scrape(local.url)).status).toBe(200);
  });
});
