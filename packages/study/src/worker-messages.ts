import type { BudgetSettings } from './budget.js';
import type { RunResult } from './results.js';
import type { SharedStudyData } from './study-data.js';

/** What every study worker thread starts with (piscina's `workerData`). */
export interface WorkerInit {
  shared: SharedStudyData;
  settings: BudgetSettings;
}

/**
 * What a run task returns. A run that throws is answered as 'failed' with its error's
 * code, because a thrown error crosses the thread boundary by structured clone, which
 * drops the `code` property the pool's message names.
 */
export type RunTaskOutcome = { type: 'result'; result: RunResult } | { type: 'failed'; key: string; message: string; code?: string };
