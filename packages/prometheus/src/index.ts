/**
 * @tributary/prometheus: serves Tributary's metric registry to Prometheus (prom-client).
 * @packageDocumentation
 */
export { startMetricsServer, createMetricsHandler, type MetricsServer, type MetricsServerOptions } from './metricsServer.js';
export { toPrometheusRegistry, type PrometheusExportOptions } from './toPrometheusRegistry.js';
export { toPrometheusSeries, sanitizeMetricName, type PrometheusSeries } from './metricNames.js';
