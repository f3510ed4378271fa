import type { BudgetSettings } from './budget.js';
import type { RunRequest } from './run-config.js';
import { armGlobalBatch } from './run-setup.js';

/**
 * Seconds of one run on the study's pool of 2 workers on 2 cores (each worker about one
 * core), by its parts. Measured on wasm, Dec 2026, 2 vCPUs shared with other work (load
 * 5-7), 64-step runs at the quick subset and 40-step question-3 runs at the standard
 * budget (see estimate.test.ts for the measured runs it must reproduce). A machine to itself
 * runs faster; an older quick run (Nov 2026) recorded about ten times these, so the
 * estimate is a guide, not a promise, and the report states the time each run took.
 */
export interface RunTimeModel {
  /** Building and converting the model, the final test evaluation and class counts of ~1,500 samples. */
  runOverheadSec: number;
  /** Training seconds per sample (forward, backward, update) of the CNN with or without BN. */
  cnnSampleSec: number;
  /** The same for the deep MLP. */
  mlpSampleSec: number;
  /** Inference seconds per test sample in batches of 256 (learning-curve points, training-set scores). */
  evalSampleSec: number;
  /** Inference seconds per test sample at batch size 1 or 8 (question 5's test-time statistics). */
  smallBatchEvalSampleSec: number;
  /** Rank threads starting: their backends, the data and the model, then rank 0's model back. */
  threadedStartupSec: number;
  /** Per step of a rank-thread run: the step's messages and collectives. */
  threadedStepSec: number;
  /** Per sample of a rank-thread run's global batch (4 threads on 2 cores run slower per sample than one thread). */
  threadedSampleSec: number;
}

export const MEASURED_RUN_TIMES: RunTimeModel = {
  runOverheadSec: 1.2,
  cnnSampleSec: 0.0004,
  mlpSampleSec: 0.0001,
  evalSampleSec: 0.00005,
  smallBatchEvalSampleSec: 0.0008,
  threadedStartupSec: 7,
  threadedStepSec: 0.06,
  threadedSampleSec: 0.002,
};

/** The splits of MNIST as the `mnist` package bundles it (not the 60,000 / 10,000 of the original): a budget asking for more gets these. */
export const BUNDLED_MNIST = { train: 8500, test: 1500 } as const;

export interface DataSizes {
  train: number;
  test: number;
}

/** The training and test samples a budget gets: its subsets, capped by the bundled splits. */
export function budgetDataSizes(settings: BudgetSettings): DataSizes {
  return { train: Math.min(settings.trainSamples, BUNDLED_MNIST.train), test: Math.min(settings.testSamples, BUNDLED_MNIST.test) };
}

/** Expected seconds of one run in the pool. */
export function runSeconds(request: RunRequest, settings: BudgetSettings, sizes: DataSizes, m: RunTimeModel = MEASURED_RUN_TIMES): number {
  const { config, extras } = request;
  const globalBatch = armGlobalBatch(config, settings);
  const samples = Math.min(config.trainSamples ?? sizes.train, sizes.train);
  const epochs = config.epochs ?? settings.epochs;
  const stepsPerEpoch = Math.ceil(samples / globalBatch);
  const steps = Math.min(config.maxSteps ?? Number.POSITIVE_INFINITY, stepsPerEpoch * epochs);
  const testSize = sizes.test;
  if (config.ranks !== undefined) {
    return m.threadedStartupSec + steps * (m.threadedStepSec + globalBatch * m.threadedSampleSec) + 2 * testSize * m.evalSampleSec;
  }
  const perSample = config.network === 'deep-mlp' ? m.mlpSampleSec : m.cnnSampleSec;
  const training = steps * Math.min(globalBatch, samples) * perSample * (config.dropout > 0 ? 1.2 : 1);
  const curveTest = Math.min(settings.curveTestSamples, testSize);
  const curve = extras.curve ? settings.curvePoints * 2 * curveTest * m.evalSampleSec : 0;
  const testTime = extras.testTimeStatistics ? testSize * (2 * m.smallBatchEvalSampleSec + m.evalSampleSec) : 0;
  const trainScore = extras.trainScore === true ? samples * m.evalSampleSec : 0;
  return m.runOverheadSec + training + curve + testTime + trainScore;
}

/**
 * Expected wall seconds of a study: its runs' seconds over the workers, which share the
 * cores (each run's seconds are measured with as many workers as cores).
 */
export function expectedStudySeconds(
  requests: readonly RunRequest[],
  settings: BudgetSettings,
  options: { sizes: DataSizes; workers: number; cores: number; model?: RunTimeModel },
): number {
  const total = requests.reduce((sum, r) => sum + runSeconds(r, settings, options.sizes, options.model), 0);
  return total / Math.max(1, Math.min(options.workers, options.cores));
}
