import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StudyError } from './errors.js';
import { QUESTIONS } from './questions/index.js';
import { ResultsIndex } from './questions/results-index.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { renderSvg } from './render-svg.js';
import { chartsOf } from './report-document.js';
import type { RunResult } from './results.js';
import { buildStudyReport, type StudyMeta } from './study-report.js';

export const REPORT_FILES = { markdown: 'report.md', html: 'report.html', json: 'results.json', figures: 'figures' } as const;

/** The study's raw results, as written to results.json. */
export interface StudyResults {
  study: 'bn-dropout';
  formatVersion: 1;
  meta: StudyMeta;
  questions: { id: string; title: string; headline: string; findings: string[] }[];
  runs: RunResult[];
}

/**
 * Analyzes the runs and writes the report into `out`: report.md, report.html (charts
 * inlined), results.json, and figures/ with each chart as SVG and as its Vega-Lite
 * specification. Returns the paths written.
 */
export async function writeStudyReport(out: string, meta: StudyMeta, runs: RunResult[]): Promise<string[]> {
  const index = new ResultsIndex(runs);
  const analyzed = QUESTIONS.map((q) => ({ id: q.id, title: q.title, short: q.short, report: q.analyze(index, meta.settings) }));
  const document = buildStudyReport(meta, analyzed, runs);
  const figures = path.join(out, REPORT_FILES.figures);
  mkdirSync(figures, { recursive: true });
  const files: string[] = [];
  const write = (file: string, text: string): void => {
    writeFileSync(file, text);
    files.push(file);
  };
  const svgs = new Map<string, string>();
  for (const c of chartsOf(document)) {
    const svg = await renderSvg(c.spec);
    svgs.set(c.id, svg);
    write(path.join(figures, `${c.id}.svg`), svg);
    write(path.join(figures, `${c.id}.vl.json`), `${JSON.stringify(c.spec, null, 2)}\n`);
  }
  write(path.join(out, REPORT_FILES.markdown), renderMarkdown(document, REPORT_FILES.figures));
  write(path.join(out, REPORT_FILES.html), renderHtml(document, svgs));
  const results: StudyResults = {
    study: 'bn-dropout',
    formatVersion: 1,
    meta,
    questions: analyzed.map((q) => ({
      id: q.id,
      title: q.title,
      headline: q.report.headline,
      findings: q.report.section.blocks.flatMap((b) => (b.kind === 'findings' ? b.sentences : [])),
    })),
    runs,
  };
  write(path.join(out, REPORT_FILES.json), `${JSON.stringify(results, null, 1)}\n`);
  return files;
}

/** Reads a results.json written by the study. */
export function readStudyResults(file: string): StudyResults {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new StudyError('STUDY_ERR_BAD_OPTION', `${file}: cannot read study results (${(cause as Error).message})`, { cause });
  }
  const results = parsed as Partial<StudyResults>;
  if (results.study !== 'bn-dropout' || results.formatVersion !== 1 || !Array.isArray(results.runs) || results.meta === undefined) {
    throw new StudyError('STUDY_ERR_BAD_OPTION', `${file}: not the results.json of a bn-dropout study (format 1)`);
  }
  return results as StudyResults;
}

/**
 * Writes the report again from an earlier study's results.json, without training: for a
 * changed chart or wording, or a copy elsewhere. The runs and their meta are kept as they
 * were; the findings are generated anew from them.
 */
export async function rerenderStudyReport(options: { from: string; out: string }): Promise<string[]> {
  const results = readStudyResults(options.from);
  return await writeStudyReport(path.resolve(options.out), results.meta, results.runs);
}
