import { Histogram, InvalidJobError, MetricRegistry, type MetricEntry } from '@tributary/core';
import fc from 'fast-check';
import { validateMetricName } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sanitizeMetricName, toPrometheusSeries } from '../src/index.js';

const op = { job: 'word count', job_id: '0123456789abcdef0123456789abcdef', operator: 'Map#2', uid: '', subtask: '1' };

function entry(name: string, variables: Readonly<Record<string, string>> = op, metric: MetricEntry['metric'] = new Histogram()): MetricEntry {
  return { id: `job.x.${name}`, name, variables, metric, registeredAt: 0 };
}

describe('toPrometheusSeries', () => {
  it("takes the labels from the metric's variables, not from its id, the job's name as job_name", () => {
    const registry = new MetricRegistry();
    registry.scopedGroup(['job', 'a.b', 'operator', 'embed v1.2', '0'], op).counter('numRecordsIn');
    const [recordsIn] = registry.entries();
    expect(toPrometheusSeries(recordsIn!)).toEqual({
      name: 'tributary_operator_records_in',
      metric: 'numRecordsIn',
      // Prometheus gives every series its scrape job as `job`, and renames a `job` label the target exports.
      labels: { job_name: 'word count', job_id: op.job_id, operator: 'Map#2', uid: '', subtask: '1' },
      scale: 1,
      help: 'Records the operator subtask received.',
    });
  });

  it('names the known metrics in snake_case with base units, and scales milliseconds to seconds', () => {
    const names = Object.fromEntries(
      ['callLatencyMs', 'queueWaitMs', 'checkpointDurationMs', 'checkpointAlignmentMs', 'checkpointSizeBytes', 'busyTimeMs', 'backPressuredTimeMs', 'idleTimeMs', 'batchSize', 'deadLettered'].map((n) => {
        const { name, scale } = toPrometheusSeries(entry(n));
        return [n, [name, scale]];
      }),
    );
    expect(names).toEqual({
      callLatencyMs: ['tributary_async_call_duration_seconds', 0.001],
      queueWaitMs: ['tributary_async_queue_wait_seconds', 0.001],
      checkpointDurationMs: ['tributary_checkpoint_duration_seconds', 0.001],
      checkpointAlignmentMs: ['tributary_checkpoint_alignment_seconds', 0.001],
      checkpointSizeBytes: ['tributary_checkpoint_size_bytes', 1],
      busyTimeMs: ['tributary_task_busy_time_seconds', 0.001],
      backPressuredTimeMs: ['tributary_task_backpressured_time_seconds', 0.001],
      idleTimeMs: ['tributary_task_idle_time_seconds', 0.001],
      batchSize: ['tributary_async_batch_size', 1],
      deadLettered: ['tributary_async_dead_lettered', 1],
    });
  });

  it('turns other names, from nested groups too, to snake_case and sanitizes them', () => {
    expect(toPrometheusSeries(entry('http.callCount'), 'app').name).toBe('app_http_call_count');
    expect(toPrometheusSeries(entry('app.cache-hits', {})).name).toBe('tributary_app_cache_hits');
    expect(toPrometheusSeries(entry('9lives', {}), '').name).toBe('_9lives');
    expect(toPrometheusSeries(entry('größe', {})).name).toBe('tributary_gr__e');
  });

  it('always yields a name Prometheus accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), fc.constantFrom('', 'tributary', 'a:b'), (name, prefix) => {
        expect(validateMetricName(toPrometheusSeries(entry(name), prefix).name)).toBe(true);
        expect(validateMetricName(sanitizeMetricName(name))).toBe(true);
      }),
    );
  });

  it('never returns a name Prometheus rejects, whatever the prefix: a bad prefix fails', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), (prefix) => {
        let name: string;
        try {
          name = toPrometheusSeries(entry('numRecordsIn'), prefix).name;
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidJobError);
          expect(prefix !== '' && !validateMetricName(prefix)).toBe(true);
          return;
        }
        expect(validateMetricName(name)).toBe(true);
      }),
    );
  });
});
