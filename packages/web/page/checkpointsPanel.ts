import type { UpdateView } from '../src/api.js';
import { el, table } from './dom.js';
import { bytes, clockTime, duration } from './format.js';

/** Rows the table shows, newest first; `/api/job` keeps the last 100, and counts them all. */
const ROWS = 10;

/** Checkpoints: counts, the one the job was restored from, and the latest ones with duration, alignment, size and failures. */
export class CheckpointsPanel {
  constructor(private readonly root: HTMLElement) {}

  update({ job }: UpdateView): void {
    const { completed, failed } = job.checkpointCounts;
    const restored = job.restoredFrom === null ? 'no' : `checkpoint ${job.restoredFrom.checkpointId ?? '?'} (${job.restoredFrom.location})`;
    const rows = job.checkpoints
      .slice(-ROWS)
      .reverse()
      .map((c) => [
        String(c.checkpointId),
        { text: c.status + (c.final ? ' (final)' : ''), className: 'text' },
        clockTime(c.time),
        duration(c.durationMs),
        duration(c.alignmentMs),
        bytes(c.sizeBytes),
        { text: c.cause ?? c.location?.split('/').pop() ?? '', className: 'text' },
      ]);
    this.root.replaceChildren(
      el('h2', {}, 'Checkpoints'),
      el('p', { 'data-checkpoint-counts': `${completed}/${failed}` }, `${completed} completed, ${failed} failed · restored from: ${restored}`),
      rows.length === 0
        ? el('p', { class: 'empty' }, 'No checkpoint yet (is checkpointing enabled?)')
        : table(['id', 'status', 'at', 'duration', 'alignment', 'size', 'file or cause'], rows, (i) => (job.checkpoints.at(-1 - i)?.status === 'failed' ? 'failed' : '')),
    );
  }
}
