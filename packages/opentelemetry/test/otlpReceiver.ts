import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One data point as the test reads it: attributes as a plain record, numbers as numbers. */
export interface ReceivedPoint {
  readonly attributes: Readonly<Record<string, string>>;
  readonly value?: number;
  readonly count?: number;
  readonly sum?: number;
  readonly bucketCounts?: readonly number[];
  readonly explicitBounds?: readonly number[];
}

export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string;
  readonly type: 'sum' | 'gauge' | 'histogram';
  readonly isMonotonic?: boolean;
  readonly points: readonly ReceivedPoint[];
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpPoint {
  attributes?: { key: string; value: OtlpValue }[];
  asInt?: string | number;
  asDouble?: number;
  count?: string | number;
  sum?: number;
  bucketCounts?: (string | number)[];
  explicitBounds?: number[];
}
interface OtlpMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints: OtlpPoint[]; isMonotonic?: boolean };
  gauge?: { dataPoints: OtlpPoint[] };
  histogram?: { dataPoints: OtlpPoint[] };
}
interface OtlpRequest {
  resourceMetrics: { scopeMetrics: { metrics: OtlpMetric[] }[] }[];
}

/**
 * An OTLP/HTTP metrics receiver on 127.0.0.1 that decodes the JSON encoding
 * (what `@opentelemetry/exporter-metrics-otlp-http` sends) without the SDK's
 * help, so the test checks the wire format rather than trusting the exporter.
 */
export async function startOtlpReceiver(): Promise<{ url: string; requests: OtlpRequest[]; metrics(): ReceivedMetric[]; close(): Promise<void> }> {
  const requests: OtlpRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url !== '/v1/metrics' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      requests.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/metrics`,
    requests,
    /** Every metric of the latest request. */
    metrics: () => (requests.at(-1)?.resourceMetrics ?? []).flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map(decode))),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

function decode(metric: OtlpMetric): ReceivedMetric {
  const [type, body] = metric.sum ? (['sum', metric.sum] as const) : metric.gauge ? (['gauge', metric.gauge] as const) : (['histogram', metric.histogram!] as const);
  return {
    name: metric.name,
    unit: metric.unit ?? '',
    type,
    ...('isMonotonic' in body ? { isMonotonic: body.isMonotonic } : {}),
    points: body.dataPoints.map((p) => ({
      attributes: Object.fromEntries((p.attributes ?? []).map(({ key, value }) => [key, String(value.stringValue ?? value.intValue)])),
      ...(p.asInt !== undefined ? { value: Number(p.asInt) } : p.asDouble !== undefined ? { value: p.asDouble } : {}),
      ...(type === 'histogram'
        ? { count: Number(p.count), sum: p.sum, bucketCounts: (p.bucketCounts ?? []).map(Number), explicitBounds: p.explicitBounds ?? [] }
        : {}),
    })),
  };
}
