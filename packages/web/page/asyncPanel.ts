import type { HistogramView, SubtaskMetricsView, UpdateView } from '../src/api.js';
import { histogram, maxOrNull, subtasksOf, sum, valueOf } from './aggregate.js';
import { el } from './dom.js';
import { count, duration } from './format.js';
import { TimeChart } from './timeChart.js';

/** Counters shown as figures, by registered name. */
const FIGURES: readonly (readonly [name: string, label: string])[] = [
  ['batches', 'calls'],
  ['records', 'records sent'],
  ['retries', 'retries'],
  ['failures', 'failed calls'],
  ['timeouts', 'timeouts'],
  ['throttled', 'throttled'],
  ['deadLettered', 'dead-lettered'],
];

interface OperatorCard {
  readonly figures: HTMLElement;
  readonly sizes: HTMLElement;
  readonly weights: HTMLElement;
  readonly latency: TimeChart;
  readonly queueWait: TimeChart;
  readonly concurrency: TimeChart;
  readonly buffered: TimeChart;
}

/**
 * One card per async operator (those that register `batchSize`): calls,
 * retries, timeouts, throttles and dead letters; the batch size and weight
 * distributions; call latency and queue wait p50/p95/p99, calls in flight
 * against the limit, and buffered records, over time.
 */
export class AsyncPanel {
  private readonly cards = new Map<string, OperatorCard>();

  constructor(private readonly root: HTMLElement) {}

  update({ job, metrics }: UpdateView): void {
    for (const op of job.graph.operators) {
      const rows = subtasksOf(metrics, op.id);
      if (!rows.some((r) => histogram(r, 'batchSize') !== undefined)) continue;
      let card = this.cards.get(op.id);
      if (card === undefined) {
        card = this.createCard(op.id, op.name, op.parallelism);
        this.cards.set(op.id, card);
      }
      this.fill(card, rows, metrics.time);
    }
  }

  private createCard(id: string, name: string, parallelism: number): OperatorCard {
    const card: OperatorCard = {
      figures: el('div', { class: 'stats' }),
      sizes: el('div', { class: 'distribution', 'data-distribution': 'batchSize' }),
      weights: el('div', { class: 'distribution', 'data-distribution': 'batchWeight' }),
      latency: new TimeChart('Call latency', ['p50', 'p95', 'p99'], 'ms'),
      queueWait: new TimeChart('Queue wait', ['p50', 'p95', 'p99'], 'ms'),
      concurrency: new TimeChart('Calls in flight', ['in flight', 'AIMD limit'], 'calls'),
      buffered: new TimeChart('Buffered records', ['buffered'], 'records'),
    };
    if (this.cards.size === 0) this.root.append(el('h2', {}, 'Async operators'));
    this.root.append(
      el(
        'div',
        { class: 'async-operator', 'data-async-operator': id },
        el('h3', {}, `${name} (parallelism ${parallelism})`),
        card.figures,
        el(
          'div',
          { class: 'charts' },
          el('figure', { class: 'chart' }, el('figcaption', {}, 'Batch size (records per call)'), card.sizes),
          el('figure', { class: 'chart' }, el('figcaption', {}, 'Batch weight'), card.weights),
          card.latency.element,
          card.queueWait.element,
          card.concurrency.element,
          card.buffered.element,
        ),
      ),
    );
    return card;
  }

  private fill(card: OperatorCard, rows: readonly SubtaskMetricsView[], time: number): void {
    const inFlight = sum(rows.map((r) => valueOf(r, 'inFlightBatches')));
    const limit = sum(rows.map((r) => valueOf(r, 'concurrencyLimit')));
    const cap = sum(rows.map((r) => valueOf(r, 'maxInFlightBatches')));
    const buffered = sum(rows.map((r) => valueOf(r, 'bufferedRecords')));
    const held = sum(rows.map((r) => valueOf(r, 'heldRecords')));
    const capacity = sum(rows.map((r) => valueOf(r, 'capacity')));
    const figure = (label: string, value: string, name: string): HTMLElement => el('div', { 'data-figure': name }, el('span', {}, label), el('b', {}, value));
    card.figures.replaceChildren(
      ...FIGURES.map(([name, label]) => figure(label, count(sum(rows.map((r) => valueOf(r, name)))), name)),
      figure('in flight / limit / cap', `${count(inFlight)} / ${count(limit)} / ${count(cap)}`, 'inFlight'),
      figure('held / capacity', `${count(held)} / ${count(capacity)}`, 'heldRecords'),
      figure('buffered records (not in a call)', count(buffered), 'bufferedRecords'),
      figure('mean batch', meanBatch(rows), 'meanBatch'),
    );
    card.sizes.replaceChildren(distribution(rows, 'batchSize'));
    card.weights.replaceChildren(distribution(rows, 'batchWeight'));
    // Percentiles do not add up across subtasks: the chart shows the slowest subtask's.
    const worst = (name: string, q: 'p50' | 'p95' | 'p99'): number => maxOrNull(rows.map((r) => histogram(r, name)?.[q])) ?? 0;
    card.latency.push(time, [worst('callLatencyMs', 'p50'), worst('callLatencyMs', 'p95'), worst('callLatencyMs', 'p99')]);
    card.queueWait.push(time, [worst('queueWaitMs', 'p50'), worst('queueWaitMs', 'p95'), worst('queueWaitMs', 'p99')]);
    card.concurrency.push(time, [inFlight, limit]);
    card.buffered.push(time, [buffered]);
    card.latency.element.dataset.p95 = duration(worst('callLatencyMs', 'p95'));
  }
}

function meanBatch(rows: readonly SubtaskMetricsView[]): string {
  const histograms = rows.map((r) => histogram(r, 'batchSize')).filter((h): h is HistogramView => h !== undefined);
  const calls = sum(histograms.map((h) => h.count));
  return calls === 0 ? '—' : (sum(histograms.map((h) => h.sum)) / calls).toFixed(1);
}

/** Bars of how many calls fell in each bucket, summed over subtasks (the buckets add up; percentiles would not). */
function distribution(rows: readonly SubtaskMetricsView[], name: string): HTMLElement {
  const histograms = rows.map((r) => histogram(r, name)).filter((h): h is HistogramView => h !== undefined);
  const bounds = histograms[0]?.buckets ?? [];
  const cumulative = bounds.map((_, i) => sum(histograms.map((h) => h.buckets[i]?.count ?? 0)));
  const counts = cumulative.map((c, i) => c - (i === 0 ? 0 : (cumulative[i - 1] as number)));
  const total = sum(counts);
  if (total === 0) return el('p', { class: 'empty' }, 'no calls yet');
  if (sum(histograms.map((h) => h.sum)) === 0) return el('p', { class: 'empty' }, `${count(total)} calls, all of weight 0 (no weigher)`);
  const first = counts.findIndex((c) => c > 0);
  const last = counts.findLastIndex((c) => c > 0);
  const most = Math.max(...counts);
  const lines = counts.slice(first, last + 1).map((c, j) => {
    const i = first + j;
    const le = bounds[i]?.le;
    const from = i === 0 ? 0 : (bounds[i - 1]?.le ?? 0);
    const label = le === null || le === undefined ? `> ${from}` : i === 0 ? `≤ ${le}` : `${from}–${le}`;
    return el('tr', { 'data-bucket': label }, el('td', { class: 'text' }, label), el('td', { class: 'text' }, el('span', { class: 'bar', style: `width:${Math.max(1, (c / most) * 160)}px` })), el('td', {}, count(c)));
  });
  return el('table', {}, el('tbody', {}, ...lines));
}
