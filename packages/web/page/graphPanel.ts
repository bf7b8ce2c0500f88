import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import type { GraphView, UpdateView } from '../src/api.js';
import { operatorTotals, taskLoad, type TaskLoad } from './aggregate.js';
import { el, svg } from './dom.js';
import { percentOfSecond, perSecond } from './format.js';

/** A task's box: a header with its parallelism and load, then one row per chained operator. */
const BOX = { width: 250, header: 46, row: 38 };

interface TaskBox {
  readonly rect: SVGRectElement;
  readonly load: SVGTextElement;
  readonly operators: readonly string[];
}

interface OperatorRow {
  readonly group: SVGGElement;
  readonly rates: SVGTextElement;
}

/**
 * The job graph, left to right (dagre), as Flink's web UI draws it: one box
 * per task with its chained operators in order, its parallelism, and its busy
 * and backpressured time (the busiest subtask's), coloured by them; each
 * operator with its records in and out per second; edges labelled with their
 * partitioning. Laid out once; each update changes only the figures.
 */
export class GraphPanel {
  private readonly tasks = new Map<string, TaskBox>();
  private readonly rows = new Map<string, OperatorRow>();
  private selected: string | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly onSelect: (operator: string) => void,
  ) {}

  update({ job, metrics }: UpdateView): void {
    if (this.tasks.size === 0) this.draw(job.graph);
    for (const [id, task] of this.tasks) {
      const load = taskLoad(metrics, job.graph, id);
      task.load.textContent = `busy ${percentOfSecond(load.busyTimeMsPerSecond)} · backpressured ${percentOfSecond(load.backPressuredTimeMsPerSecond)}`;
      task.rect.setAttribute('fill', loadColour(load));
    }
    for (const [id, row] of this.rows) {
      const totals = operatorTotals(metrics, id);
      row.group.dataset.recordsIn = String(totals.recordsIn);
      row.group.dataset.recordsOut = String(totals.recordsOut);
      row.rates.textContent = `in ${perSecond(totals.recordsInPerSecond)} · out ${perSecond(totals.recordsOutPerSecond)}`;
    }
  }

  select(operator: string): void {
    this.selected = operator;
    for (const [id, row] of this.rows) row.group.classList.toggle('selected', id === operator);
    this.onSelect(operator);
  }

  get selection(): string | undefined {
    return this.selected;
  }

  private draw(graph: GraphView): void {
    const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>({ multigraph: true });
    g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 90, marginx: 8, marginy: 8 });
    const vertexOf = new Map(graph.operators.map((op) => [op.id, op.vertex]));
    for (const vertex of graph.vertices) g.setNode(vertex.id, { width: BOX.width, height: BOX.header + BOX.row * vertex.operators.length });
    const between = graph.edges.filter((e) => !e.chained);
    between.forEach((edge, i) => g.setEdge(vertexOf.get(edge.from) as string, vertexOf.get(edge.to) as string, { width: 80, height: 16, labelpos: 'c' }, String(i)));
    dagre.layout(g);

    const width = g.graph().width ?? 0;
    const height = g.graph().height ?? 0;
    const canvas = svg('svg', { class: 'graph', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
    canvas.append(arrowHead());
    between.forEach((edge, i) => {
      const layout = g.edge({ v: vertexOf.get(edge.from) as string, w: vertexOf.get(edge.to) as string, name: String(i) });
      const group = svg('g', { class: 'edge', 'data-edge': `${edge.from}->${edge.to}` });
      group.append(svg('path', { d: (layout.points ?? []).map((p, j) => `${j === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' '), 'marker-end': 'url(#arrow)' }));
      const label = svg('text', { x: layout.x ?? 0, y: (layout.y ?? 0) - 4, 'text-anchor': 'middle' });
      label.textContent = `${edge.partitioning}${edge.sideOutput === undefined ? '' : ' (side output)'}`;
      group.append(label);
      canvas.append(group);
    });
    for (const vertex of graph.vertices) canvas.append(this.drawTask(graph, vertex, g.node(vertex.id)));
    const legend = el('p', { class: 'legend' }, 'One box per task, its chained operators in order. Colour: the task’s busy time (white idle → red busy), grey when backpressured. Rates per second over the last sample. Click an operator for its subtasks.');
    this.root.replaceChildren(el('h2', {}, 'Job graph'), el('div', { class: 'graph-scroll' }, canvas), legend);
  }

  private drawTask(graph: GraphView, vertex: GraphView['vertices'][number], box: NodeLabel): SVGGElement {
    const x = (box.x ?? 0) - box.width / 2;
    const y = (box.y ?? 0) - box.height / 2;
    const group = svg('g', { class: 'task', 'data-vertex': vertex.id, transform: `translate(${x},${y})` });
    const rect = svg('rect', { width: box.width, height: box.height, fill: '#fff' });
    const text = (at: number, className: string, content: string, indent = 10): SVGTextElement => {
      const t = svg('text', { x: indent, y: at, class: className });
      t.textContent = content;
      return t;
    };
    const load = text(36, 'task-load', '');
    group.append(rect, text(18, 'task-parallelism', `parallelism ${vertex.parallelism}`), load);
    vertex.operators.forEach((id, i) => {
      const op = graph.operators.find((o) => o.id === id);
      if (op === undefined) return;
      const top = BOX.header + BOX.row * i;
      const row = svg('g', { class: 'operator', 'data-operator': id, transform: `translate(0,${top})`, tabindex: 0 });
      const title = svg('title');
      title.textContent = `${op.name} (${op.kind}${op.uid === undefined ? '' : `, uid ${op.uid}`}): click for its subtasks`;
      const rates = text(31, 'op-rates', '', 16);
      row.append(svg('rect', { x: 4, y: 2, width: box.width - 8, height: BOX.row - 4 }), title, text(15, 'op-name', op.name.length > 30 ? `${op.name.slice(0, 29)}…` : op.name, 16), rates);
      row.addEventListener('click', () => this.select(id));
      row.addEventListener('keydown', (e) => e.key === 'Enter' && this.select(id));
      group.append(row);
      this.rows.set(id, { group: row, rates });
    });
    this.tasks.set(vertex.id, { rect, load, operators: vertex.operators });
    return group;
  }
}

/** Flink's colouring: redder the busier, greyer the more backpressured. */
function loadColour({ busyTimeMsPerSecond: busy, backPressuredTimeMsPerSecond: backpressured }: TaskLoad): string {
  const b = Math.min(1, (busy ?? 0) / 1000);
  const p = Math.min(1, (backpressured ?? 0) / 1000);
  return p > b ? `hsl(0, 0%, ${Math.round(100 - 45 * p)}%)` : `hsl(8, 85%, ${Math.round(100 - 45 * b)}%)`;
}

function arrowHead(): SVGDefsElement {
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7a8594' }));
  defs.append(marker);
  return defs;
}
