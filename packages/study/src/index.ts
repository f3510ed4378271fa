export { runStudy, REPORT_FILES } from './run-study.js';
export type { RunStudyOptions, StudyOutcome, StudyProgress, StudyResults } from './run-study.js';
export { BUDGET_NAMES, budgetSettings, isBudgetName } from './budget.js';
export type { BudgetName, BudgetSettings } from './budget.js';
export type { StudyMeta } from './study-report.js';
export type { RunResult, Score, CurvePoint, BatchStatisticsScore } from './results.js';
export type { RunConfig, ArmConfig } from './run-config.js';
export { StudyError } from './errors.js';
export type { StudyErrorCode } from './errors.js';
