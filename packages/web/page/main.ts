import type { UpdateView } from '../src/api.js';
import { AsyncPanel } from './asyncPanel.js';
import { CheckpointsPanel } from './checkpointsPanel.js';
import { GraphPanel } from './graphPanel.js';
import { JobHeader } from './jobHeader.js';
import { RestartsPanel } from './restartsPanel.js';
import { SubtasksPanel } from './subtasksPanel.js';

const byId = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

const header = new JobHeader(byId('job'));
const subtasks = new SubtasksPanel(byId('subtasks'));
const graph = new GraphPanel(byId('graph'), (operator) => subtasks.show(operator));
const panels = [header, graph, subtasks, new AsyncPanel(byId('async')), new CheckpointsPanel(byId('checkpoints')), new RestartsPanel(byId('restarts'))];

let ended = false;
let events: EventSource | undefined;

// A browser keeps six connections to one server, and each stream holds one: a page lets go of its stream once the
// job has ended, and while its tab is hidden, so that more pages of the view can open.
function connect(): void {
  const stream = new EventSource('api/events');
  events = stream;
  stream.addEventListener('open', () => header.setConnection('live'));
  stream.addEventListener('update', (message) => {
    const update = JSON.parse((message as MessageEvent<string>).data) as UpdateView;
    ended = update.job.status !== 'running';
    for (const panel of panels) panel.update(update);
    if (graph.selection === undefined) graph.select(update.job.graph.operators[0]?.id ?? '');
    if (ended) disconnect('final state');
  });
  // A stream closed once the job ended fires nothing more: an error is a lost view, which the browser retries.
  stream.addEventListener('error', () => header.setConnection('disconnected'));
}

function disconnect(state: 'final state' | 'paused'): void {
  events?.close();
  events = undefined;
  header.setConnection(state);
}

document.addEventListener('visibilitychange', () => {
  if (ended) return;
  if (document.visibilityState === 'hidden') disconnect('paused');
  else if (events === undefined) connect();
});
if (document.visibilityState === 'hidden') disconnect('paused');
else connect();
