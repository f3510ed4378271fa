import { readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Info } from 'csv-parse/sync';
import { ArrayDataset } from './array-dataset.js';
import { DataError } from './errors.js';

/** The column that holds the class label unless the spec names another (`#column=NAME`). */
export const CSV_LABEL_COLUMN = 'label';
/** A larger CSV file is refused before it is read (its parsed strings take several times this). */
export const MAX_CSV_BYTES = 256 * 1024 * 1024;
/** Labels above this are refused: the model gets one output per class up to the largest label. */
export const MAX_CSV_LABEL = 65_535;

/** What a `csv:` spec names: `csv:train.csv[,test.csv][#column=NAME]`. */
export interface CsvSpec {
  train: string;
  test: string | undefined;
  labelColumn: string;
}

export function parseCsvSpec(spec: string): CsvSpec {
  const body = spec.startsWith('csv:') ? spec.slice(4) : spec;
  const hash = body.lastIndexOf('#column=');
  const files = (hash >= 0 ? body.slice(0, hash) : body).split(',');
  const labelColumn = hash >= 0 ? body.slice(hash + '#column='.length) : CSV_LABEL_COLUMN;
  if (files.length > 2 || files.some((f) => f === '') || labelColumn === '') {
    throw new DataError('DATA_ERR_UNKNOWN_DATASET', `dataset "${spec}": csv: takes train.csv[,test.csv][#column=NAME]`);
  }
  return { train: files[0] as string, test: files[1], labelColumn };
}

/** One parsed CSV file: the feature columns' names, then the samples row by row. */
interface CsvTable {
  features: string[];
  x: Float32Array;
  y: Int32Array;
  maxLabel: number;
}

/** A feature must be a plain finite number: `Number('')` is 0 and `Number(' ')` too, so those are refused first. */
function parseFeature(text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}

function readCsvTable(file: string, labelColumn: string): CsvTable {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (cause) {
    throw new DataError('DATA_ERR_FILE', `${file}: cannot read the CSV file (${(cause as Error).message})`, { cause });
  }
  if (size > MAX_CSV_BYTES) {
    throw new DataError('DATA_ERR_TOO_LARGE', `${file}: ${size} bytes is over the ${MAX_CSV_BYTES}-byte limit for a CSV file`);
  }
  let rows: { record: string[]; info: Info }[];
  try {
    // relax_column_count: a short or long row is reported below with its line, as a DataError.
    rows = parse(readFileSync(file), { bom: true, info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof rows;
  } catch (cause) {
    const line = (cause as { lines?: number }).lines;
    const where = line === undefined ? '' : `:${line}`;
    throw new DataError('DATA_ERR_CSV', `${file}${where}: not valid CSV (${(cause as Error).message})`, { cause });
  }
  const header = rows[0];
  if (header === undefined) throw new DataError('DATA_ERR_CSV', `${file}: empty; a header row naming the columns is required`);
  const columns = header.record.map((c) => c.trim());
  const labelAt = columns.indexOf(labelColumn);
  if (labelAt < 0 || columns.lastIndexOf(labelColumn) !== labelAt) {
    throw new DataError(
      'DATA_ERR_CSV',
      `${file}:${header.info.lines}: the header must name exactly one "${labelColumn}" column; it names ${columns.join(', ').slice(0, 300)}`,
    );
  }
  const features = columns.filter((_, i) => i !== labelAt);
  if (features.length === 0) throw new DataError('DATA_ERR_CSV', `${file}: no feature columns besides "${labelColumn}"`);
  const n = rows.length - 1;
  const x = new Float32Array(n * features.length);
  const y = new Int32Array(n);
  let maxLabel = 0;
  for (let r = 0; r < n; r++) {
    const { record, info } = rows[r + 1] as (typeof rows)[number];
    const at = `${file}:${info.lines}`;
    if (record.length !== columns.length) {
      throw new DataError('DATA_ERR_CSV', `${at}: ${record.length} fields, but the header names ${columns.length} columns`);
    }
    let f = r * features.length;
    for (let c = 0; c < record.length; c++) {
      const text = record[c] as string;
      if (c === labelAt) {
        const label = text.trim() === '' ? Number.NaN : Number(text);
        if (!Number.isInteger(label) || label < 0 || label > MAX_CSV_LABEL) {
          throw new DataError('DATA_ERR_LABEL', `${at}: label "${text.slice(0, 40)}" is not an integer in [0, ${MAX_CSV_LABEL}]`);
        }
        y[r] = label;
        maxLabel = Math.max(maxLabel, label);
      } else {
        const value = parseFeature(text);
        if (Number.isNaN(value)) {
          throw new DataError('DATA_ERR_CSV', `${at}: column "${columns[c]}" holds "${text.slice(0, 40)}", not a finite number`);
        }
        x[f++] = value;
      }
    }
  }
  if (n === 0) throw new DataError('DATA_ERR_TOO_SMALL', `${file}: no rows below the header`);
  return { features, x, y, maxLabel };
}

/**
 * A classification data set from CSV files with a header row: every column but the label
 * column is a numeric feature (inputShape [features]); the label column holds integer
 * classes. With a test file, both files must name the same columns in the same order and
 * numClasses is the largest label of either + 1, so the two agree.
 */
export function loadCsvDatasets(spec: CsvSpec): { train: ArrayDataset; test: ArrayDataset | undefined } {
  const train = readCsvTable(spec.train, spec.labelColumn);
  const test = spec.test === undefined ? undefined : readCsvTable(spec.test, spec.labelColumn);
  if (test !== undefined && test.features.join('\u0000') !== train.features.join('\u0000')) {
    throw new DataError(
      'DATA_ERR_SHAPE',
      `${spec.test}: its feature columns (${test.features.join(', ').slice(0, 200)}) are not those of ${spec.train} ` +
        `(${train.features.join(', ').slice(0, 200)})`,
    );
  }
  const numClasses = Math.max(2, train.maxLabel + 1, (test?.maxLabel ?? 0) + 1);
  const inputShape = [train.features.length];
  const dataset = (t: CsvTable, file: string): ArrayDataset => new ArrayDataset({ name: `csv:${file}`, x: t.x, y: t.y, inputShape, numClasses });
  return { train: dataset(train, spec.train), test: test === undefined ? undefined : dataset(test, spec.test as string) };
}
