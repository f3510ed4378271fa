import { loadModelBytes, modelArtifacts } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';
import type { BudgetSettings } from './budget.js';
import { StudyError } from './errors.js';
import { classifyRun, COLLAPSE_STEPS } from './outcome.js';
import { predictedClassCounts } from './prediction-counts.js';
import type { RunResult } from './results.js';
import type { RunRequest } from './run-config.js';
import { armJobConfig, armModel, armTrainingData } from './run-setup.js';
import type { StudyData } from './study-data.js';

/**
 * Trains one configuration on real rank threads (`runLocalJob` of @tfjs-ddp/worker): every
 * rank computes its shard of `perReplicaBatch` samples with the real SyncBN layer in the
 * run's BN mode (`local`: each rank's own statistics; `sync`: all ranks'; `sync:K`: groups
 * of K), the ranks all-reduce the gradients and apply the same update. The test accuracy
 * and loss are rank 0's evaluation with the moving statistics it kept; the predicted classes
 * come from rank 0's model, here. Learning curves and test-time statistics are not measured
 * on this path.
 */
export async function trainThreadedRun(request: RunRequest, data: StudyData, settings: BudgetSettings): Promise<RunResult> {
  const started = performance.now();
  const { config } = request;
  const ranks = config.ranks;
  if (ranks === undefined) throw new StudyError('STUDY_ERR_BAD_OPTION', `${request.key} has no rank setup`);
  const train = armTrainingData(config, data.train);
  const job = armJobConfig(config, settings);
  const built = armModel(config, train);
  const bytes = await modelArtifacts(built);
  built.dispose();
  const lastStepLosses: number[] = [];
  const epochLoss = new Map<number, { lossSum: number; count: number }>();
  const result = await runLocalJob({
    config: job,
    data: { train, test: data.test },
    model: bytes,
    threads: ranks.threads,
    bnMode: ranks.bnMode,
    backend: 'wasm',
    returnModel: true,
    hooks: {
      onStep: (progress, reports) => {
        lastStepLosses.push(progress.loss);
        if (lastStepLosses.length > COLLAPSE_STEPS) lastStepLosses.shift();
        const sums = epochLoss.get(progress.epoch) ?? { lossSum: 0, count: 0 };
        for (const r of reports) {
          sums.lossSum += r.lossSum;
          sums.count += r.count;
        }
        epochLoss.set(progress.epoch, sums);
      },
    },
  });
  if (result.model === undefined) throw new StudyError('STUDY_ERR_MISSING_RESULT', `${request.key}: rank 0 returned no model`);
  const model = await loadModelBytes(result.model, `rank 0's model of ${request.key}`);
  const predicted = predictedClassCounts(model, data.test);
  model.dispose();
  const test = { accuracy: result.test.accuracy, loss: Number.isFinite(result.test.loss) ? result.test.loss : null };
  const classified = classifyRun({ nonFiniteLoss: false, lastStepLosses, predictedClassCounts: predicted, testLoss: test.loss });
  const last = epochLoss.get(Math.max(...epochLoss.keys()));
  return {
    key: request.key,
    config,
    steps: result.steps,
    stepsCompleted: result.steps,
    diverged: false,
    outcome: classified.outcome,
    outcomeReason: classified.reason,
    lastStepLosses,
    predictedClassCounts: predicted,
    trainLoss: last === undefined || last.count === 0 ? null : last.lossSum / last.count,
    test,
    curve: [],
    batchStatistics: [],
    elapsedSec: (performance.now() - started) / 1000,
  };
}
