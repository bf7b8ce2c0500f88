import type { UpdateView } from '../src/api.js';
import { histogram, subtasksOf, valueOf } from './aggregate.js';
import { el, table } from './dom.js';
import { count, duration, percentOfSecond, perSecond } from './format.js';

/**
 * Every subtask of the operator clicked in the graph, side by side: a
 * skewed key shows as one subtask with most of the records, a slow slot as
 * one busy or backpressured subtask.
 */
export class SubtasksPanel {
  private operator: string | undefined;
  private last: UpdateView | undefined;

  constructor(private readonly root: HTMLElement) {}

  show(operator: string): void {
    this.operator = operator;
    if (this.last !== undefined) this.update(this.last);
  }

  update(update: UpdateView): void {
    this.last = update;
    const { job, metrics } = update;
    const op = job.graph.operators.find((o) => o.id === this.operator);
    if (op === undefined) return;
    const vertex = job.graph.vertices.find((v) => v.id === op.vertex);
    const head = vertex?.operators[0] ?? op.id;
    const rows = subtasksOf(metrics, op.id);
    const loads = subtasksOf(metrics, head);
    const isAsync = rows.some((r) => histogram(r, 'batchSize') !== undefined);
    const most = Math.max(1, ...rows.map((r) => valueOf(r, 'numRecordsIn')));
    const headers = ['subtask', 'records in', '', 'records out', 'in/s', 'out/s', 'task busy', 'task backpressured', 'input queue'];
    const cells = rows.map((r) => {
      const load = loads.find((l) => l.subtask === r.subtask);
      const recordsIn = valueOf(r, 'numRecordsIn');
      const base = [
        // A slot that stopped reporting is stuck: say so where its rates would be read as a standstill.
        r.silentForMs === undefined ? String(r.subtask) : { text: `${r.subtask}: no report for ${duration(r.silentForMs)}`, className: 'text silent' },
        count(recordsIn),
        { text: '█'.repeat(Math.round((recordsIn / most) * 12)), className: 'text' },
        count(valueOf(r, 'numRecordsOut')),
        perSecond(r.rates.numRecordsInPerSecond),
        perSecond(r.rates.numRecordsOutPerSecond),
        percentOfSecond(load?.rates.busyTimeMsPerSecond),
        percentOfSecond(load?.rates.backPressuredTimeMsPerSecond),
        count(valueOf(load ?? r, 'inputQueueRecords')),
      ];
      return isAsync ? [...base, count(valueOf(r, 'batches')), duration(histogram(r, 'callLatencyMs')?.p95), count(valueOf(r, 'inFlightBatches'))] : base;
    });
    this.root.replaceChildren(
      el('h2', { 'data-subtasks-of': op.id }, `Subtasks of ${op.name}`),
      table(isAsync ? [...headers, 'calls', 'call p95', 'in flight'] : headers, cells),
    );
  }
}
