import type { UpdateView } from '../src/api.js';
import { el, table } from './dom.js';
import { clockTime, duration } from './format.js';

/** Restarts with the failure that caused each (operator, task, subtask, message), and the failure that ended the job. */
export class RestartsPanel {
  constructor(private readonly root: HTMLElement) {}

  update({ job }: UpdateView): void {
    const rows = [...job.restarts].reverse().map((r) => [
      String(r.attempt),
      clockTime(r.time),
      { text: r.operator ?? 'the runtime', className: 'text' },
      r.subtask === null ? '—' : String(r.subtask),
      { text: r.cause, className: 'text' },
      r.fromCheckpointId === null ? 'scratch' : `checkpoint ${r.fromCheckpointId}`,
      duration(r.delayMs),
    ]);
    this.root.replaceChildren(
      el('h2', {}, 'Restarts and exceptions'),
      ...(job.failure === null ? [] : [el('p', { class: 'failed', 'data-failure': '' }, `Failed: ${job.failure}`)]),
      rows.length === 0
        ? el('p', { class: 'empty' }, 'No restart')
        : table(['#', 'at', 'operator', 'subtask', 'cause', 'restarts from', 'after'], rows, () => 'failed'),
    );
  }
}
