import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import type { GraphView, UpdateView } from '../src/api.js';
import { operatorTotals, taskLoad, type TaskLoad } from './aggregate.js';
import { el, svg } from './dom.js';
import { count, percentOfSecond, perSecond } from './format.js';

const NODE = { width: 200, height: 82 };
/** Room around a chain's operators for its frame and title. */
const FRAME = { side: 12, top: 26 };

interface OperatorNode {
  readonly group: SVGGElement;
  readonly rect: SVGRectElement;
  readonly rates: SVGTextElement;
  readonly load: SVGTextElement;
  readonly vertex: string;
  readonly head: boolean;
}

/**
 * The job graph, left to right (dagre): each task's chained operators in one
 * frame, each operator with its parallelism, records in/out per second and
 * its task's busy and backpressured time, coloured by them as Flink's web UI
 * colours a vertex. Laid out once; each update changes only the figures.
 */
export class GraphPanel {
  private readonly nodes = new Map<string, OperatorNode>();
  private selected: string | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly onSelect: (operator: string) => void,
  ) {}

  update({ job, metrics }: UpdateView): void {
    if (this.nodes.size === 0) this.draw(job.graph);
    const loads = new Map(job.graph.vertices.map((v) => [v.id, taskLoad(metrics, job.graph, v.id)]));
    for (const [id, node] of this.nodes) {
      const totals = operatorTotals(metrics, id);
      const load = loads.get(node.vertex) as TaskLoad;
      node.group.dataset.recordsIn = String(totals.recordsIn);
      node.group.dataset.recordsOut = String(totals.recordsOut);
      node.rates.textContent = `in ${perSecond(totals.recordsInPerSecond)} · out ${perSecond(totals.recordsOutPerSecond)}`;
      node.load.textContent = node.head
        ? `busy ${percentOfSecond(load.busyTimeMsPerSecond)} · backpressured ${percentOfSecond(load.backPressuredTimeMsPerSecond)}`
        : `chained · ${count(totals.recordsIn)} records in`;
      node.rect.setAttribute('fill', loadColour(load));
    }
  }

  select(operator: string): void {
    this.selected = operator;
    for (const [id, node] of this.nodes) node.group.classList.toggle('selected', id === operator);
    this.onSelect(operator);
  }

  get selection(): string | undefined {
    return this.selected;
  }

  private draw(graph: GraphView): void {
    const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>({ compound: true });
    g.setGraph({ rankdir: 'LR', nodesep: 46, ranksep: 70, marginx: 4, marginy: FRAME.top });
    g.setDefaultEdgeLabel(() => ({}));
    for (const vertex of graph.vertices) g.setNode(`v:${vertex.id}`, { width: 0, height: 0 });
    for (const op of graph.operators) {
      g.setNode(`o:${op.id}`, { ...NODE });
      g.setParent(`o:${op.id}`, `v:${op.vertex}`);
    }
    for (const edge of graph.edges) g.setEdge(`o:${edge.from}`, `o:${edge.to}`, { width: 70, height: 14, labelpos: 'c' });
    dagre.layout(g);

    const width = (g.graph().width ?? 0) + 2 * FRAME.side;
    const height = (g.graph().height ?? 0) + FRAME.top;
    const canvas = svg('svg', { class: 'graph', viewBox: `${-FRAME.side} 0 ${width} ${height}`, width, role: 'img' });
    canvas.append(arrowHead());
    for (const vertex of graph.vertices) {
      const boxes = vertex.operators.map((id) => placed(g.node(`o:${id}`)));
      const left = Math.min(...boxes.map((b) => b.x - b.width / 2)) - FRAME.side;
      const top = Math.min(...boxes.map((b) => b.y - b.height / 2)) - FRAME.top;
      const right = Math.max(...boxes.map((b) => b.x + b.width / 2)) + FRAME.side;
      const bottom = Math.max(...boxes.map((b) => b.y + b.height / 2)) + FRAME.side;
      const frame = svg('g', { class: 'vertex', 'data-vertex': vertex.id });
      frame.append(svg('rect', { x: left, y: top, width: right - left, height: bottom - top }));
      const title = svg('text', { x: left + 8, y: top + 16 });
      title.textContent = `task ×${vertex.parallelism}`;
      frame.append(title);
      canvas.append(frame);
    }
    for (const edge of graph.edges) {
      const layout = g.edge(`o:${edge.from}`, `o:${edge.to}`);
      const group = svg('g', { class: `edge${edge.chained ? ' chained' : ''}`, 'data-edge': `${edge.from}->${edge.to}` });
      const points = layout.points ?? [];
      group.append(svg('path', { d: points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' '), 'marker-end': 'url(#arrow)' }));
      const label = svg('text', { x: layout.x ?? 0, y: (layout.y ?? 0) - 4, 'text-anchor': 'middle' });
      label.textContent = `${edge.chained ? 'chained' : edge.partitioning}${edge.sideOutput === undefined ? '' : ' (side output)'}`;
      group.append(label);
      canvas.append(group);
    }
    for (const op of graph.operators) {
      const box = placed(g.node(`o:${op.id}`));
      const x = box.x - NODE.width / 2;
      const y = box.y - NODE.height / 2;
      const group = svg('g', { class: 'operator', 'data-operator': op.id, transform: `translate(${x},${y})`, tabindex: 0 });
      const rect = svg('rect', { width: NODE.width, height: NODE.height, fill: '#fff' });
      const line = (row: number, className: string, text: string): SVGTextElement => {
        const t = svg('text', { x: 10, y: 18 + row * 18, class: className });
        t.textContent = text;
        return t;
      };
      const rates = line(2, 'op-rates', '');
      const load = line(3, 'op-load', '');
      const name = line(0, 'op-name', op.name.length > 26 ? `${op.name.slice(0, 25)}…` : op.name);
      const title = svg('title');
      title.textContent = `${op.name} (${op.kind}${op.uid === undefined ? '' : `, uid ${op.uid}`}): click for its subtasks`;
      group.append(rect, title, name, line(1, 'op-parallelism', `parallelism ${op.parallelism}`), rates, load);
      group.addEventListener('click', () => this.select(op.id));
      group.addEventListener('keydown', (e) => e.key === 'Enter' && this.select(op.id));
      canvas.append(group);
      const head = graph.vertices.find((v) => v.id === op.vertex)?.operators[0] === op.id;
      this.nodes.set(op.id, { group, rect, rates, load, vertex: op.vertex, head });
    }
    const legend = el('p', { class: 'legend' }, 'Colour: the task’s busy time (white idle → red busy), grey when backpressured; rates per second over the last sample. Click an operator for its subtasks.');
    this.root.replaceChildren(el('h2', {}, 'Job graph'), canvas, legend);
  }
}

/** A node after layout: dagre has set its centre. */
function placed(node: NodeLabel): { x: number; y: number; width: number; height: number } {
  return { x: node.x ?? 0, y: node.y ?? 0, width: node.width, height: node.height };
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
