import type { TopLevelSpec } from 'vega-lite';

/** A chart: its Vega-Lite specification, rendered to SVG when the report is written. */
export interface Chart {
  /** File name stem of the figure, e.g. "q1-placement". */
  id: string;
  title: string;
  spec: TopLevelSpec;
}

export interface Table {
  caption: string;
  columns: string[];
  rows: string[][];
}

/** The parts of a report, written once and rendered to Markdown and to HTML. */
export type Block =
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; table: Table }
  | { kind: 'chart'; chart: Chart }
  /** The generated sentences saying what the numbers support. */
  | { kind: 'findings'; sentences: string[] };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export interface ReportDocument {
  title: string;
  sections: Section[];
}

export const paragraph = (text: string): Block => ({ kind: 'paragraph', text });
export const list = (items: string[]): Block => ({ kind: 'list', items });
export const table = (t: Table): Block => ({ kind: 'table', table: t });
export const chart = (c: Chart): Block => ({ kind: 'chart', chart: c });
export const findings = (sentences: string[]): Block => ({ kind: 'findings', sentences });

/** Every chart of a document, in order. */
export function chartsOf(document: ReportDocument): Chart[] {
  return document.sections.flatMap((s) => s.blocks.flatMap((b) => (b.kind === 'chart' ? [b.chart] : [])));
}
