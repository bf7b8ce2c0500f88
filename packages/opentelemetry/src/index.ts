/**
 * @tributary/opentelemetry: exports Tributary's metric registry through the OpenTelemetry metrics SDK.
 * @packageDocumentation
 */
export { tributaryMetricProducer, type OpenTelemetryExportOptions } from './metricProducer.js';
