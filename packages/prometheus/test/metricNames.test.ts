import fc from 'fast-check';
import { validateMetricName } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sanitizeMetricName, toPrometheusSeries } from '../src/index.js';

describe('toPrometheusSeries', () => {
  it('turns an operator metric id into a name and job/operator/subtask labels', () => {
    expect(toPrometheusSeries('job.word count.operator.Map#2.1.numRecordsIn')).toEqual({
      name: 'tributary_numRecordsIn',
      metric: 'numRecordsIn',
      labels: { job: 'word count', operator: 'Map#2', subtask: '1' },
    });
  });

  it('keeps dots in operator names and in metrics of nested groups', () => {
    expect(toPrometheusSeries('job.j.operator.embed v1.2.0.http.calls', 'app')).toEqual({
      name: 'app_http_calls',
      metric: 'http.calls',
      labels: { job: 'j', operator: 'embed v1.2', subtask: '0' },
    });
  });

  it("labels a job's checkpoint metrics with the job", () => {
    expect(toPrometheusSeries('job.word count.checkpoints.numCompletedCheckpoints')).toEqual({
      name: 'tributary_numCompletedCheckpoints',
      metric: 'numCompletedCheckpoints',
      labels: { job: 'word count' },
    });
  });

  it('maps ids outside a job scope to a sanitized name without labels', () => {
    expect(toPrometheusSeries('app.cache-hits')).toEqual({ name: 'tributary_app_cache_hits', metric: 'app.cache-hits', labels: {} });
    expect(toPrometheusSeries('9lives', '')).toEqual({ name: '_9lives', metric: '9lives', labels: {} });
    expect(toPrometheusSeries('größe').name).toBe('tributary_gr__e');
  });

  it('recovers job, operator, subtask and metric from any well-formed id', () => {
    const job = fc.string({ minLength: 1 }).filter((s) => !s.includes('.operator.') && !s.endsWith('.operator'));
    const metric = fc.string({ minLength: 1 }).filter((s) => !s.includes('.'));
    fc.assert(
      fc.property(job, fc.string({ minLength: 1 }), fc.nat(127), metric, (j, op, subtask, m) => {
        const series = toPrometheusSeries(`job.${j}.operator.${op}.${subtask}.${m}`);
        expect(series.labels).toEqual({ job: j, operator: op, subtask: String(subtask) });
        expect(series.metric).toBe(m);
      }),
    );
  });

  it('always yields a name Prometheus accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), fc.constantFrom('', 'tributary', 'a:b'), (id, prefix) => {
        expect(validateMetricName(toPrometheusSeries(id, prefix).name)).toBe(true);
        expect(validateMetricName(sanitizeMetricName(id))).toBe(true);
      }),
    );
  });
});
