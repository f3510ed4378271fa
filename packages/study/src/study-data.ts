import { ArrayDataset, hashSeeds, loadMnist, mulberry32, openSharedDataset, shareDataset, type Dataset, type SharedDatasetHandle } from '@tfjs-ddp/data';
import type { BudgetSettings } from './budget.js';

/** Seed of the subsets: every run of every budget draws the same samples, whatever its own seed. */
const SUBSET_SEED = 20240901;

export interface StudyData {
  train: Dataset;
  /** In a seeded random order: the MNIST split is sorted by class, and batches of it must mix classes. */
  test: Dataset;
  /** The first samples of `test`, for the cheaper evaluations along each run. */
  curveTest: Dataset;
}

export type SharedStudyData = Record<keyof StudyData, SharedDatasetHandle>;

/** The first `count` samples of a seeded permutation of `dataset` (all of them, shuffled, if it is smaller). */
export function seededSubset(dataset: Dataset, count: number, seed: number, name: string): ArrayDataset {
  const order = Int32Array.from({ length: dataset.size }, (_, i) => i);
  const random = mulberry32(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  const batch = dataset.batch(order.subarray(0, Math.min(count, dataset.size)));
  return new ArrayDataset({ name, x: batch.x, y: batch.y, inputShape: dataset.inputShape, numClasses: dataset.numClasses });
}

/** The study's training and test sets for a budget (MNIST as bundled with the `mnist` package). */
export function loadStudyData(settings: BudgetSettings): StudyData {
  const train = seededSubset(loadMnist('train'), settings.trainSamples, hashSeeds(SUBSET_SEED, 1), 'mnist-train-subset');
  const test = seededSubset(loadMnist('test'), settings.testSamples, hashSeeds(SUBSET_SEED, 2), 'mnist-test-subset');
  const curve = test.batch(Int32Array.from({ length: Math.min(settings.curveTestSamples, test.size) }, (_, i) => i));
  const curveTest = new ArrayDataset({ name: 'mnist-curve-subset', x: curve.x, y: curve.y, inputShape: test.inputShape, numClasses: test.numClasses });
  return { train, test, curveTest };
}

/** The data in shared memory, for worker threads to read without a copy each. */
export function shareStudyData(data: StudyData): SharedStudyData {
  return { train: shareDataset(data.train), test: shareDataset(data.test), curveTest: shareDataset(data.curveTest) };
}

export function openSharedStudyData(shared: SharedStudyData): StudyData {
  return { train: openSharedDataset(shared.train), test: openSharedDataset(shared.test), curveTest: openSharedDataset(shared.curveTest) };
}
