import type { UpdateView } from '../src/api.js';
import { el } from './dom.js';
import { duration } from './format.js';

/** The job's name, status, runtime and restarts, and whether the page is live. */
export class JobHeader {
  private connection = 'connecting';

  constructor(private readonly root: HTMLElement) {}

  /** `live`, `final state` (the job ended), `disconnected` (the view closed). */
  setConnection(state: string): void {
    this.connection = state;
    const badge = this.root.querySelector('[data-connection]');
    if (badge !== null) badge.textContent = state;
  }

  update({ job }: UpdateView): void {
    if (job.status !== 'running' && this.connection === 'live') this.connection = 'final state';
    document.title = `${job.name}: ${job.status}`;
    this.root.replaceChildren(
      el('h1', {}, job.name),
      el('span', { class: `status status-${job.status}`, 'data-status': job.status }, job.status),
      el('span', {}, `runtime ${duration(job.runtimeMs)}`),
      el('span', { 'data-restarts': String(job.restarts.length) }, `${job.restarts.length} restart${job.restarts.length === 1 ? '' : 's'}`),
      el('span', { class: 'dim' }, `job ${job.jobId}`),
      el('span', { class: 'dim', 'data-connection': '' }, this.connection),
    );
  }
}
