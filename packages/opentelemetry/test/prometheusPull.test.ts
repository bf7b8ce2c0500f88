import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { StreamExecutionEnvironment } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { tributaryMetricProducer } from '../src/index.js';

describe('tributaryMetricProducer with the OpenTelemetry Prometheus exporter', () => {
  it("serves a job's metrics for Prometheus to pull", async () => {
    const env = StreamExecutionEnvironment.create({ runtime: 'single-thread', parallelism: 2 });
    const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [tributaryMetricProducer(env.metrics)] });
    const provider = new MeterProvider({ readers: [exporter] });
    const server = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      env
        .fromCollection(Array.from({ length: 50 }, (_, i) => i))
        .map((n) => n + 1)
        .name('inc')
        .addSink(() => undefined);
      const { jobId } = await env.execute('pulled');
      const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)).text();

      const recordsIn = [...text.matchAll(/^tributary_operator_records_in_total\{(.*)\} (\d+)/gm)].filter(([, labels]) => labels!.includes('operator="inc"'));
      expect(recordsIn.map(([, labels]) => labels)).toEqual([0, 1].map((s) => `job_name="pulled",job_id="${jobId}",operator="inc",uid="",subtask="${s}",otel_scope_name="@tributary/opentelemetry"`));
      expect(recordsIn.reduce((n, [, , value]) => n + Number(value), 0)).toBe(50);
      expect(text).toMatch(/^# TYPE tributary_operator_records_in_total counter$/m);
      expect(text).toMatch(/^# UNIT tributary_operator_records_in_total \{record\}$/m);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.shutdown();
    }
  });
});
