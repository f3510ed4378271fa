import { StudyError } from '../errors.js';
import type { RunResult } from '../results.js';
import { armKey, type ArmConfig } from '../run-config.js';

/** The runs of every arm, one per seed in seed order, found by the arm's configuration. */
export class ResultsIndex {
  private readonly byArm = new Map<string, RunResult[]>();

  constructor(runs: readonly RunResult[]) {
    for (const run of runs) {
      const key = armKey(run.config);
      const list = this.byArm.get(key) ?? [];
      list.push(run);
      this.byArm.set(key, list);
    }
    for (const list of this.byArm.values()) list.sort((a, b) => a.config.seed - b.config.seed);
  }

  runs(arm: ArmConfig): RunResult[] {
    const found = this.byArm.get(armKey(arm));
    if (found === undefined || found.length === 0) throw new StudyError('STUDY_ERR_MISSING_RESULT', `no runs of ${armKey(arm)}`);
    return found;
  }

  /** Final test accuracies (moving statistics), one per seed. */
  accuracies(arm: ArmConfig): number[] {
    return this.runs(arm).map((r) => r.test.accuracy);
  }
}
