import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { StreamExecutionEnvironment } from '@tributary/core';
import { tributaryMetricProducer } from '@tributary/opentelemetry';

export async function doublesWithMetrics(url = 'http://127.0.0.1:4318/v1/metrics') {
  const env = StreamExecutionEnvironment.create();
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url }),
    exportIntervalMillis: 10_000,
    metricProducers: [tributaryMetricProducer(env.metrics)],
  });
  const provider = new MeterProvider({ readers: [reader] });
  env.fromCollection([1, 2, 3]).map((n) => n * 2).name('double').addSink(() => undefined);
  const result = await env.execute('doubles');
  await provider.shutdown(); // exports once more, then stops the reader
  return result;
}

import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from './otlpReceiver.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
});

describe('the example of the README', () => {
  it('pushes the job metrics once more when the provider shuts down', async () => {
    const receiver = await startOtlpReceiver();
    close = () => receiver.close();
    const result = await doublesWithMetrics(receiver.url);
    const recordsOut = receiver.metrics().find((m) => m.name === 'tributary.operator.records_out');
    expect(recordsOut?.points.find((p) => p.attributes['operator'] === 'double')).toMatchObject({
      attributes: { job_name: 'doubles', job_id: result.jobId, subtask: '0' },
      value: 3,
    });
  });
});
