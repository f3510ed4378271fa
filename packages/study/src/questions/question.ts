import type { BudgetSettings } from '../budget.js';
import type { Section } from '../report-document.js';
import type { ArmConfig, RunExtras } from '../run-config.js';
import type { ResultsIndex } from './results-index.js';

/** One configuration a question compares, run once per seed. */
export interface Arm {
  label: string;
  config: ArmConfig;
  /** Measurements wanted besides the final test accuracy; merged across questions. */
  extras?: Partial<RunExtras>;
}

/** The report section a question produces, with its headline answer for the summary. */
export interface QuestionReport {
  section: Section;
  /** The first generated finding, repeated in the report's summary. */
  headline: string;
}

/** One of the study's questions: which arms it needs, and how it reads their results. */
export interface Question {
  id: string;
  /** The section heading, numbered. */
  title: string;
  /** A few words for the summary, e.g. "BN placement". */
  short: string;
  arms(settings: BudgetSettings): Arm[];
  analyze(results: ResultsIndex, settings: BudgetSettings): QuestionReport;
}
