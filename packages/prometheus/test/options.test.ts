import { InvalidJobError, MetricRegistry, type MetricEntry } from '@tributary/core';
import { describe, expect, it } from 'vitest';
import { startMetricsServer, toPrometheusRegistry, toPrometheusSeries } from '../src/index.js';

/**
 * startMetricsServer and toPrometheusRegistry with bad options: each row
 * must fail (throw, or reject before listening) with an InvalidJobError
 * whose message holds `error`. Add a row for every new option.
 */
type BadInput = readonly [title: string, build: () => unknown, error: string];

const server = (options: Record<string, unknown>) => () => startMetricsServer({ registry: new MetricRegistry(), ...options });
const registry = (options: unknown) => () => toPrometheusRegistry(new MetricRegistry(), options as never);
const recordsIn = (): MetricEntry => {
  const metrics = new MetricRegistry();
  metrics.scopedGroup(['job', 'j'], { job: 'j', subtask: '0' }).counter('numRecordsIn');
  return [...metrics.entries()][0] as MetricEntry;
};

const cases: readonly BadInput[] = [
  ['server: no options', () => startMetricsServer(undefined as never), 'startMetricsServer(): needs an options object'],
  ['server: misspelled key', server({ prot: 9464 }), "startMetricsServer(): unknown option 'prot'; did you mean 'port'?"],
  ['server: export option misspelled', server({ processmetrics: true }), "unknown option 'processmetrics'; did you mean 'processMetrics'?"],
  ['server: port negative', server({ port: -1 }), "startMetricsServer(): option 'port' must be an integer in [0, 65535], got -1"],
  ['server: port above 65535', server({ port: 65536 }), "option 'port' must be an integer in [0, 65535], got 65536"],
  ['server: port a string', server({ port: '9464' }), "option 'port' must be an integer in [0, 65535], got '9464'"],
  ['server: path not a string', server({ path: 5 }), "option 'path' must be a non-empty string, got 5"],
  ['server: no registry', () => startMetricsServer({ port: 0 } as never), 'startMetricsServer(): registry must be a @tributary/core MetricRegistry'],
  ['server: prefix bad', server({ prefix: 'my-app' }), "startMetricsServer(): option 'prefix' must be a valid Prometheus metric name or '', got 'my-app'"],
  ['registry: misspelled key', registry({ prefx: 'app' }), "toPrometheusRegistry(): unknown option 'prefx'; did you mean 'prefix'?"],
  ['registry: options not an object', registry('app'), 'toPrometheusRegistry(): needs an options object'],
  ['registry: prefix a number', registry({ prefix: 1 }), "option 'prefix' must be a valid Prometheus metric name or '', got 1"],
  // The same check as toPrometheusRegistry's: the series name was '1 bad-prefix_operator_records_in', which Prometheus rejects.
  ['series: prefix bad', () => toPrometheusSeries(recordsIn(), '1 bad-prefix'), "toPrometheusSeries(): option 'prefix' must be a valid Prometheus metric name or '', got '1 bad-prefix'"],
  ['series: prefix a number', () => toPrometheusSeries(recordsIn(), 5 as never), "toPrometheusSeries(): option 'prefix' must be a valid Prometheus metric name or '', got 5"],
  ['registry: processMetrics a string', registry({ processMetrics: 'yes' }), "option 'processMetrics' must be true or false, got 'yes'"],
  ['registry: not a registry', () => toPrometheusRegistry({} as never), 'toPrometheusRegistry(): registry must be a @tributary/core MetricRegistry'],
];

async function failureOf(build: () => unknown): Promise<unknown> {
  try {
    await build();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('options are checked', () => {
  it.each(cases)('%s', async (_title, build, error) => {
    const failure = await failureOf(build);
    expect(failure).toBeInstanceOf(InvalidJobError);
    expect((failure as Error).message).toContain(error);
  });
});
