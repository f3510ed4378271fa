import type { BudgetSettings } from './budget.js';
import type { RunResult } from './results.js';
import type { RunRequest } from './run-config.js';
import type { SharedStudyData } from './study-data.js';

/** What a study worker thread starts with (its `workerData`). */
export interface WorkerInit {
  shared: SharedStudyData;
  settings: BudgetSettings;
}

export type ToWorker = { type: 'run'; request: RunRequest } | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; result: RunResult }
  | { type: 'failed'; key: string; message: string; code?: string };
