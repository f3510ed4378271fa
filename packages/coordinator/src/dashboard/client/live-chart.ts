import uPlot from 'uplot';
import type { Values } from '../wire.js';
import { formatTick } from './format.js';

export interface SeriesStyle {
  label: string;
  color: string;
  width?: number;
  dash?: number[];
  /** Draw a dot at every point (sparse series such as one value per epoch). */
  points?: boolean;
  fill?: string;
}

export interface ChartSpec {
  xLabel: string;
  /** The y scale's fixed range, e.g. [0, 1] for an accuracy; default: fit the data. */
  yRange?: [number, number];
  /** How the y axis writes a value. */
  yTick?: (value: number) => string;
  /** How the legend writes a value under the cursor. */
  yValue?: (value: number | null) => string;
  height?: number;
}

/** Tick spacings for step and epoch axes: whole numbers only (there is no step 2.5). */
const WHOLE_INCREMENTS = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].flatMap((p) => [p, 2 * p, 5 * p]);

const AXIS = '#8b98ad';
const GRID = 'rgba(139, 152, 173, 0.16)';

/**
 * One uPlot chart inside a `<figure data-chart>` of the page, fed whole (already
 * downsampled) series on every update. The series' labels may change (ranks come and
 * go): the chart is then built anew. Writes the number of points it plots into the
 * figure's `data-points`, which the browser test reads.
 */
export class LiveChart {
  private plot: uPlot | undefined;
  private labels = '';
  private readonly container: HTMLElement;

  constructor(
    private readonly figure: HTMLElement,
    private readonly spec: ChartSpec,
  ) {
    const container = figure.querySelector<HTMLElement>('.plot');
    if (container === null) throw new Error(`chart ${figure.dataset['chart'] ?? '?'} has no .plot element`);
    this.container = container;
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(container);
  }

  update(x: number[], series: readonly SeriesStyle[], ys: readonly Values[]): void {
    this.figure.dataset['points'] = String(x.length);
    this.figure.classList.toggle('empty', x.length === 0);
    const labels = series.map((s) => s.label).join('\n');
    if (this.plot === undefined || labels !== this.labels) {
      this.plot?.destroy();
      this.labels = labels;
      this.plot = new uPlot(this.options(series), undefined, this.container);
    }
    this.plot.setData([x, ...ys] as uPlot.AlignedData);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, this.container.clientWidth), height: this.spec.height ?? 190 };
  }

  private options(series: readonly SeriesStyle[]): uPlot.Options {
    const { yRange, yTick = formatTick, yValue } = this.spec;
    const axis = { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 }, font: '11px system-ui, sans-serif' };
    return {
      ...this.size(),
      // A live chart that re-zooms on every update is unusable: no drag-zoom, the legend follows the cursor.
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: true },
      scales: { x: { time: false }, y: yRange === undefined ? {} : { range: yRange } },
      axes: [
        { ...axis, incrs: WHOLE_INCREMENTS, values: (_u: uPlot, splits: number[]) => splits.map(formatTick) },
        { ...axis, size: 52, values: (_u: uPlot, splits: number[]) => splits.map(yTick) },
      ],
      series: [
        { label: this.spec.xLabel, value: (_u: uPlot, v: number | null) => (v === null ? '–' : String(v)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.5,
          ...(s.dash === undefined ? {} : { dash: s.dash }),
          ...(s.fill === undefined ? {} : { fill: s.fill }),
          points: { show: s.points ?? false, size: 7, fill: s.color },
          ...(yValue === undefined ? {} : { value: (_u: uPlot, v: number | null) => yValue(v) }),
        })),
      ],
    };
  }
}
