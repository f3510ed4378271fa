import type { TopLevelSpec } from 'vega-lite';
import type { Chart } from './report-document.js';

/** One plotted value: a seed's (or a model's) measurement with the fields that place it. */
export type ChartRow = Record<string, string | number>;

export interface ChartField {
  field: string;
  title: string;
  /** Category order (nominal fields). */
  order?: string[];
}

// vega-lite exports only its top-level type; the parts are taken from it.
type LayerSpec = Extract<TopLevelSpec, { layer: unknown }>;
type Layer = LayerSpec['layer'][number];
type Encoding = NonNullable<LayerSpec['encoding']>;
/** A quantitative y encoding (a field, maybe aggregated), as vega-lite's layers take it. */
interface YEncoding {
  field: string;
  type: 'quantitative';
  title: string;
  aggregate?: 'mean';
  scale?: { zero: boolean };
}
type NominalDef = NonNullable<Encoding['color']> & NonNullable<Encoding['xOffset']>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const HEIGHT = 240;

function nominal(f: ChartField): NominalDef {
  return { field: f.field, type: 'nominal', title: f.title, ...(f.order === undefined ? {} : { sort: f.order }) };
}

/** A y encoding of raw values, its axis not forced to start at zero. */
function quantitative(y: ChartField): YEncoding {
  return { field: y.field, type: 'quantitative', title: y.title, scale: { zero: false } };
}

/** A y encoding of the values' mean. */
function meanOf(y: ChartField): YEncoding {
  return { field: y.field, type: 'quantitative', aggregate: 'mean', title: y.title };
}

function colorOf(f: ChartField | undefined): Pick<Encoding, 'color'> {
  // Vega cuts legend labels at 160 px by default; the series names here are longer.
  return f === undefined ? {} : { color: { ...nominal(f), legend: { orient: 'bottom', direction: 'vertical', labelLimit: 480, titleLimit: 480 } } };
}

/** Rows of runs that collapsed or diverged carry `failed: 1`; the tables leave them out of the means, and so do the charts. */
export const FAILED_FIELD = 'failed';
const COUNTED: { filter: string } = { filter: `datum.${FAILED_FIELD} !== 1` };

/**
 * The three layers every summary chart draws from raw per-seed rows: the error bar of
 * mean ± sample standard deviation and the mean, both over the rows not marked failed,
 * and every seed as a faint dot, failed ones included.
 */
function meanStdLayers(y: ChartField, meanAsLine: boolean): Layer[] {
  return [
    { transform: [COUNTED], mark: { type: 'errorbar', extent: 'stdev', ticks: true }, encoding: { y: quantitative(y) } },
    {
      transform: [COUNTED],
      mark: meanAsLine ? { type: 'line', point: { filled: true, size: 50 } } : { type: 'point', filled: true, size: 70 },
      encoding: { y: meanOf(y) },
    },
    { mark: { type: 'point', size: 18, opacity: 0.45 }, encoding: { y: { field: y.field, type: 'quantitative' } } },
  ];
}

/**
 * Mean ± std of categories along x, colored (side by side unless `offset` is false, for a
 * color that only names the kind of each x), optionally one panel per `column` value.
 */
export function categoryChart(options: {
  id: string;
  title: string;
  rows: ChartRow[];
  x: ChartField;
  y: ChartField;
  color?: ChartField;
  offset?: boolean;
  column?: ChartField;
}): Chart {
  const { x, y, color, column } = options;
  const offset = color !== undefined && options.offset !== false;
  const encoding: Encoding = {
    x: { ...nominal(x), axis: { labelAngle: 0 } },
    ...(offset ? { xOffset: nominal(color) } : {}),
    ...colorOf(color),
  };
  const width = { step: offset ? 36 : 70 };
  const layer = meanStdLayers(y, false);
  const data = { values: options.rows };
  const spec: TopLevelSpec =
    column === undefined
      ? { $schema: SCHEMA, title: options.title, data, width, height: HEIGHT, encoding, layer }
      : {
          $schema: SCHEMA,
          title: options.title,
          data,
          facet: { column: { field: column.field, type: 'nominal', title: column.title, ...(column.order === undefined ? {} : { sort: column.order }) } },
          spec: { width, height: HEIGHT, encoding, layer },
        };
  return { id: options.id, title: options.title, spec };
}

/** Mean ± std against a quantitative x (optionally on a log scale), one line per color. */
export interface SweepChartOptions {
  id: string;
  title: string;
  rows: ChartRow[];
  x: ChartField & { log?: boolean };
  y: ChartField;
  color: ChartField;
}

export function sweepChart(options: SweepChartOptions): Chart {
  const { x, y, color } = options;
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    title: options.title,
    data: { values: options.rows },
    width: 420,
    height: HEIGHT,
    encoding: { x: { field: x.field, type: 'quantitative', title: x.title, ...(x.log === true ? { scale: { type: 'log' } } : {}) }, ...colorOf(color) },
    layer: meanStdLayers(y, true),
  };
  return { id: options.id, title: options.title, spec };
}

/** Learning curves: the mean over seeds as a line, ± std as a band, one per color. */
export function curveChart(options: Omit<SweepChartOptions, 'x'> & { x: ChartField }): Chart {
  const { x, y, color } = options;
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    title: options.title,
    data: { values: options.rows },
    width: 420,
    height: HEIGHT,
    encoding: { x: { field: x.field, type: 'quantitative', title: x.title }, ...colorOf(color) },
    layer: [
      { mark: { type: 'errorband', extent: 'stdev', opacity: 0.2 }, encoding: { y: quantitative(y) } },
      { mark: { type: 'line', point: { filled: true, size: 30 } }, encoding: { y: meanOf(y) } },
    ],
  };
  return { id: options.id, title: options.title, spec };
}
