import uPlot from 'uplot';
import { el } from './dom.js';

/** Points a chart keeps: ten minutes at one update a second. */
const HISTORY = 600;
const COLOURS = ['#2d7ff9', '#e8873a', '#d64545', '#2e9e58'];

/** A uPlot line chart over time that appends one point per update. */
export class TimeChart {
  readonly element: HTMLElement;
  private readonly data: number[][];
  private plot: uPlot | undefined;

  constructor(
    private readonly title: string,
    private readonly series: readonly string[],
    private readonly unit: string,
  ) {
    this.data = [[], ...series.map(() => [])];
    this.element = el('figure', { class: 'chart', 'data-chart': title }, el('figcaption', {}, title));
  }

  /** Adds the values at `time` (ms since the epoch), one per series. */
  push(time: number, values: readonly number[]): void {
    const times = this.data[0] as number[];
    if (times.at(-1) === time / 1000) return;
    times.push(time / 1000);
    values.forEach((v, i) => (this.data[i + 1] as number[]).push(v));
    if (times.length > HISTORY) for (const column of this.data) column.shift();
    if (this.plot === undefined) {
      this.plot = new uPlot(
        {
          width: 400,
          height: 170,
          legend: { show: true },
          axes: [{}, { label: this.unit, size: 56 }],
          scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
          series: [{}, ...this.series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length] as string, width: 1.5 }))],
        },
        this.data as uPlot.AlignedData,
        this.element,
      );
    } else {
      this.plot.setData(this.data as uPlot.AlignedData);
    }
  }
}
