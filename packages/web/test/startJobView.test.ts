import { request } from 'node:http';
import { urlToHttpOptions } from 'node:url';
import { InvalidJobError, ManualClock, silentLogger, StreamExecutionEnvironment, type JobClient } from '@tributary/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startJobView, type JobView, type JobViewServer, type MetricsView, type UpdateView } from '../src/index.js';
import { gatedSource } from '../../core/test/support/gatedSource.js';

const open: { view: JobViewServer; finish: () => Promise<unknown> }[] = [];

afterEach(async () => {
  for (const { view, finish } of open.splice(0)) {
    await view.close();
    await finish();
  }
});

/** A job of `numbers -> double -> Sink` that waits for the test to let records through. */
function gatedJob(): { client: JobClient; openUntil: (n: number) => void } {
  const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), logger: silentLogger });
  const gate = gatedSource(10);
  env.fromSource(gate.source, 'numbers').map((n) => n * 2).name('double').addSink(() => undefined);
  return { client: env.executeAsync('gated'), openUntil: (n) => gate.openUntil(n) };
}

async function viewOf(job: { client: JobClient; openUntil: (n: number) => void }): Promise<JobViewServer> {
  const view = await startJobView(job.client);
  open.push({ view, finish: () => (job.openUntil(10), job.client.result) });
  return view;
}

/** A raw request, so the test chooses the method and the Host header. */
function send(
  url: string,
  options: { method?: string; host?: string; target?: string; connection?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...(options.host === undefined ? {} : { host: options.host }), ...(options.connection === undefined ? {} : { connection: options.connection }) };
    // `target` sends that request-target as it is, as a client that builds its own request line can.
    const { hostname, port } = new URL(url);
    const where = options.target === undefined ? { ...urlToHttpOptions(new URL(url)) } : { host: hostname, port, path: options.target };
    const req = request({ ...where, method: options.method ?? 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens `/api/events`; `next()` resolves with each update in turn. */
async function subscribe(url: string): Promise<{ next: () => Promise<UpdateView>; close: () => Promise<void> }> {
  const response = await fetch(new URL('api/events', url));
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    async next() {
      let end: number;
      while ((end = buffer.indexOf('\n\n')) < 0) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the event stream ended');
        buffer += value;
      }
      const [event, data] = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      expect(event).toBe('event: update');
      return JSON.parse(data!.slice('data: '.length)) as UpdateView;
    },
    close: () => reader.cancel(),
  };
}

describe('startJobView options', () => {
  it('rejects unknown options, a bad port or host, and anything but a job client, naming the option', async () => {
    const job = gatedJob();
    const fails = (options: unknown) => expect(startJobView(job.client, options as object)).rejects.toThrow(InvalidJobError);
    await fails({ prot: 8080 });
    await expect(startJobView(job.client, { prot: 8080 } as object)).rejects.toThrow("startJobView(): unknown option 'prot'");
    await fails({ port: 70_000 });
    await fails({ port: '8080' });
    await fails({ host: '' });
    await fails({ host: 0 });
    await fails(null);
    await expect(startJobView({} as JobClient)).rejects.toThrow('startJobView(): needs the JobClient of a running job');
    job.openUntil(10);
    await job.client.result;
  });
});

describe('the JSON endpoints and the event stream', () => {
  it('/api/job: the graph, status and history; /api/metrics: each operator subtask by operator id', async () => {
    const job = gatedJob();
    const view = await viewOf(job);
    expect(view.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    job.openUntil(4);
    const jobView = (await (await fetch(new URL('api/job', view.url))).json()) as JobView;
    expect(jobView).toMatchObject({ jobId: job.client.jobId, name: 'gated', status: 'running', restarts: [], checkpoints: [], restoredFrom: null, failure: null });
    expect(jobView.graph).toEqual(job.client.graph());
    const double = job.client.graph().operators.find((o) => o.name === 'double')!.id;
    const metrics = (await (await fetch(new URL('api/metrics', view.url))).json()) as MetricsView;
    expect(metrics.jobId).toBe(job.client.jobId);
    expect(metrics.operators[double]?.map((s) => s.subtask)).toEqual([0]);
    expect(Object.keys(metrics.operators[double]?.[0]?.values ?? {})).toContain('numRecordsIn');
  });

  it('/api/events sends the current state at once, then the final state when the job ends, and ends', async () => {
    const job = gatedJob();
    const view = await viewOf(job);
    const events = await subscribe(view.url);
    expect((await events.next()).job.status).toBe('running');
    job.openUntil(10);
    await job.client.result;
    let last = await events.next();
    // Updates sent each second while the job ran may come first.
    while (last.job.status === 'running') last = await events.next();
    expect(last.job.status).toBe('finished');
    const double = job.client.graph().operators.find((o) => o.name === 'double')!.id;
    expect(last.metrics.operators[double]?.[0]?.values.numRecordsIn).toBe(10);
    // Then the stream ends: a browser keeps six connections to a server, and a finished job's page has all it needs.
    await expect(events.next()).rejects.toThrow('the event stream ended');
    // A page opened after the end gets the final state, and its stream ends at once.
    const late = await subscribe(view.url);
    expect((await late.next()).job.status).toBe('finished');
    await expect(late.next()).rejects.toThrow('the event stream ended');
  });

  it("keeps an ended run's final numbers when runs of its job name follow on the same registry", async () => {
    const env = StreamExecutionEnvironment.create({ clock: new ManualClock(0), logger: silentLogger });
    const run = () => {
      env.fromCollection([1, 2, 3]).map((n) => n).name('double').addSink(() => undefined);
      return env.executeAsync('again');
    };
    const first = run();
    const view = await startJobView(first);
    open.push({ view, finish: () => first.result });
    await first.result;
    // The next runs start at once, and each drops the metrics of the one that ended before it as it ends.
    await run().result;
    await run().result;
    const double = first.graph().operators.find((o) => o.name === 'double')!.id;
    const metrics = JSON.parse((await send(new URL('api/metrics', view.url).href)).body) as MetricsView;
    expect(metrics.operators[double]?.[0]?.values.numRecordsIn).toBe(3);
  });

  it('serves the page, its script and styles from the package (no CDN), with a content security policy', async () => {
    const view = await viewOf(gatedJob());
    const page = await send(view.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const script = await send(new URL('app.js', view.url).href);
    expect([script.status, script.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(script.body).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    expect((await send(new URL('app.css', view.url).href)).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('is read-only, answers unknown paths 404, and refuses requests named for another host (DNS rebinding)', async () => {
    const view = await viewOf(gatedJob());
    expect((await send(new URL('api/job', view.url).href, { method: 'POST' })).status).toBe(405);
    expect((await send(new URL('api/job', view.url).href, { method: 'DELETE' })).status).toBe(405);
    expect((await send(new URL('nothing', view.url).href)).status).toBe(404);
    // Browsers ask for an icon unbidden: answered with nothing, not a 404 in the page's console.
    expect((await send(new URL('favicon.ico', view.url).href)).status).toBe(204);
    expect((await send(new URL('api/job', view.url).href, { host: 'evil.example:80' })).status).toBe(403);
    expect((await send(new URL('api/job', view.url).href, { host: `localhost:${new URL(view.url).port}` })).status).toBe(200);
    // Host names are case-insensitive.
    expect((await send(new URL('api/job', view.url).href, { host: `LOCALHOST:${new URL(view.url).port}` })).status).toBe(200);
  });

  it('answers a request-target that is no URL path with 400, and goes on serving', async () => {
    const view = await viewOf(gatedJob());
    for (const target of ['//[', 'http://[']) expect((await send(view.url, { target })).status).toBe(400);
    expect((await send(new URL('api/job', view.url).href)).status).toBe(200);
  });

  it('answers HEAD on the event stream with its headers, and ends the response', async () => {
    const view = await viewOf(gatedJob());
    const head = await send(new URL('api/events', view.url).href, { method: 'HEAD', connection: 'close' });
    expect([head.status, head.headers['content-type'], head.body]).toEqual([200, 'text/event-stream; charset=utf-8', '']);
    // The client asked to close: the server must not answer keep-alive and hold the socket open.
    expect(head.headers.connection).toBe('close');
  });

  it('close() stops serving and can be called twice', async () => {
    const job = gatedJob();
    const view = await startJobView(job.client);
    await view.close();
    await view.close();
    await expect(fetch(new URL('api/job', view.url))).rejects.toThrow();
    job.openUntil(10);
    await job.client.result;
  });
});
