import type { Sample } from '../compare.js';
import { StudyError } from '../errors.js';
import { counts } from '../outcome.js';
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

  /** Every run of the arm, whatever its outcome (the tables count them all). */
  runs(arm: ArmConfig): RunResult[] {
    const found = this.byArm.get(armKey(arm));
    if (found === undefined || found.length === 0) throw new StudyError('STUDY_ERR_MISSING_RESULT', `no runs of ${armKey(arm)}`);
    return found;
  }

  /** The runs whose accuracy counts: collapsed and diverged ones left out (outcome.ts). */
  trainedRuns(arm: ArmConfig): RunResult[] {
    return this.runs(arm).filter(counts);
  }

  /** Final test accuracies (moving statistics) of the runs that trained, one per seed. */
  accuracies(arm: ArmConfig): number[] {
    return this.trainedRuns(arm).map((r) => r.test.accuracy);
  }

  /** The arm's trained accuracies under `name`, with how many runs were left out. */
  sample(name: string, arm: ArmConfig): Sample {
    const all = this.runs(arm);
    const trained = all.filter(counts);
    return { name, values: trained.map((r) => r.test.accuracy), failed: all.length - trained.length };
  }
}
