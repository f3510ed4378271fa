import { DEFAULT_BN_MOMENTUM } from '@tfjs-ddp/nn';
import type { BudgetSettings } from './budget.js';
import { count, plain } from './format.js';
import { COLLAPSE_STEPS, outcomeOf } from './outcome.js';
import type { QuestionReport } from './questions/question.js';
import { list, paragraph, type ReportDocument, type Section } from './report-document.js';
import type { RunResult } from './results.js';
import { STUDY_BN_MOMENTUM } from './run-config.js';

/** Facts about a study run that the report states. */
export interface StudyMeta {
  settings: BudgetSettings;
  trainSamples: number;
  testSamples: number;
  stepsPerRun: number;
  runs: number;
  configurations: number;
  workers: number;
  elapsedSec: number;
  /** What estimate.ts expected before the first run; absent in results.json written before it was recorded. */
  expectedSec?: number;
  generatedAt: string;
  environment: { node: string; tfjs: string; backend: string; cpus: number; platform: string };
}

function minutes(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`;
}

function methodSection(meta: StudyMeta): Section {
  const s = meta.settings;
  const g = s.globalBatch;
  const expected = meta.expectedSec === undefined ? '' : ` (expected beforehand: ${minutes(meta.expectedSec)})`;
  return {
    id: 'method',
    title: 'Budget and method',
    blocks: [
      list([
        `Budget \`${s.name}\`: ${meta.trainSamples} training samples (a fixed seeded subset of the MNIST training split bundled with the \`mnist\` ` +
          `package), ${count(s.epochs, 'epoch')} at a global batch of ${g}, i.e. ${count(meta.stepsPerRun, 'step')} per run (questions 2 and 3 set their own ` +
          `schedules, given in their sections); test accuracy on ${meta.testSamples} held-out test samples.`,
        `Seeds ${s.seeds.join(', ')}: every configuration is trained once per seed; the seed sets the initial weights, the epoch order and the ` +
          `dropout masks. Tables give the mean ± sample standard deviation over seeds, and each seed's value.`,
        `${meta.configurations} configurations, ${meta.runs} training runs, on ${meta.workers} worker thread${meta.workers === 1 ? '' : 's'} (wasm ` +
          `backend each), ${minutes(meta.elapsedSec)} in all${expected} (${meta.environment.cpus} CPUs, Node ${meta.environment.node}, tfjs ` +
          `${meta.environment.tfjs}, ${meta.environment.platform}), ${meta.generatedAt}.`,
        `Model: the zoo's \`cnn-bn\` (conv16 - pool - conv32 - pool - dense64 - dense10, the same seeded initial weights) built with the ` +
          `placement, activation, dropout position, initialization scale and BN momentum of each configuration (study-model.ts; question 3 adds ` +
          `BN on the hidden dense layer, question 6 a deeper MLP); BN layers are tfjs-ddp's SyncBatchNormalization, in a group of one (plain BN) ` +
          `except on question 3's rank threads. ` +
          `Optimizer: Adam 0.001 except in question 4 (plain SGD).`,
        `BN momentum ${STUDY_BN_MOMENTUM} in every question (question 5 also runs tfjs's default), not tfjs's default ` +
          `${DEFAULT_BN_MOMENTUM}: after ${count(meta.stepsPerRun, 'step')} ` +
          `${DEFAULT_BN_MOMENTUM} would leave ${plain(100 * DEFAULT_BN_MOMENTUM ** meta.stepsPerRun, 3)} % of the initial moving statistics ` +
          `(mean 0, variance 1) in the ones used at test time, and the questions would measure that instead of BN's effect on training. ` +
          `${STUDY_BN_MOMENTUM} is PyTorch's default (momentum 0.1 in its convention). Question 5 measures what ${DEFAULT_BN_MOMENTUM} costs.`,
        `Question 3 runs on real rank threads (runLocalJob of @tfjs-ddp/worker, one run at a time per study worker): local BN, SyncBN in ` +
          `groups (sync:K) and SyncBN are the real SyncBatchNormalization layer in BN mode local, sync:K and sync.`,
        `Outcome of each run: diverged when its training or test loss became NaN or infinite; collapsed when its mean batch loss stayed above ` +
          `ln(10), the loss of a uniform guess, in each of its last ${COLLAPSE_STEPS} steps, or when it predicted one class for every test ` +
          `sample; trained otherwise. Tables count collapsed and diverged runs apart and mark them in the per-seed column; accuracy and loss ` +
          `means and all comparisons are over the runs that trained, because a failed run's chance-level accuracy measures whether the ` +
          `configuration trains at all, not how well, and averaging it in would mix the two.`,
        `Comparisons: the difference of mean test accuracy between two arms with its 95 % confidence interval, from Welch's t-interval ` +
          `(independent runs) or the paired t-interval where the same models are measured two ways or the same seeds trained two ways ` +
          `(question 5), with the two-sided p-value. An interval that excludes 0 is reported as one arm above the other by the difference; ` +
          `one that spans 0 as "not resolved at n = N": the seeds did not settle the sign, which is not evidence that the arms are equal. ` +
          `With ${s.seeds.length} seeds per arm only large, consistent differences are resolved, and with this many comparisons about one in ` +
          `twenty intervals misses its true difference by chance.`,
        'The sentences under "What the numbers support" are generated from the numbers by these rules; none was written in advance.',
      ]),
    ],
  };
}

/** The whole report: summary, method, one section per question, where the raw results are. */
export function buildStudyReport(
  meta: StudyMeta,
  questions: readonly { title: string; short: string; report: QuestionReport }[],
  runs: readonly RunResult[] = [],
): ReportDocument {
  const unchecked = runs.filter((r) => outcomeOf(r) === 'unchecked');
  // Only candidates: a test loss above ln(10) fits a saturated one-class model, but the per-step losses and
  // predicted classes that would show it were not stored.
  const suspects = unchecked.filter((r) => r.test.loss !== null && r.test.loss > Math.log(10));
  const uncheckedNote =
    unchecked.length === 0
      ? []
      : [
          paragraph(
            `These results were recorded before each run's outcome was: they show which runs diverged (a NaN loss) but not which collapsed, ` +
              `so the tables say "not checked" for collapse and those runs are in the means. ${count(suspects.length, 'run')} ended with a ` +
              `test loss above ln(10), which fits a collapsed model, but cannot be confirmed: the stored results lack the last steps' ` +
              `losses and the predicted classes. A new run of the study records both.`,
          ),
        ];
  const summary: Section = {
    id: 'summary',
    title: 'Summary',
    blocks: [
      paragraph(
        `How batch normalization and dropout behave on MNIST under tfjs-ddp, at the \`${meta.settings.name}\` budget (${meta.trainSamples} training ` +
          `samples, ${count(meta.stepsPerRun, 'step')} per run, ${count(meta.settings.seeds.length, 'seed')} per configuration). Each ` +
          `question's generated answer:`,
      ),
      list(questions.map((q, i) => `Q${i + 1} (${q.short}): ${q.report.headline}`)),
      ...uncheckedNote,
      ...(meta.settings.name === 'full'
        ? []
        : [paragraph(`These are short runs on a subset of MNIST: they say what happens early in training, where BN's effects are strongest and ` +
          `dropout's (against overfitting) weakest. The \`full\` budget trains longer on all samples with more seeds.`)]),
    ],
  };
  const raw: Section = {
    id: 'raw',
    title: 'Raw results',
    blocks: [
      paragraph(
        '`results.json` holds every run: its configuration and seed, steps, its outcome (trained, collapsed or diverged) with the reason, the ' +
          'batch losses of its last steps, how many test samples it predicted as each class, final test accuracy and loss, last-epoch training ' +
          'loss, the learning curve where measured, the test-batch statistics where measured, and its duration. `figures/` holds each chart as ' +
          'SVG and its Vega-Lite specification.',
      ),
    ],
  };
  const sections = [summary, methodSection(meta), ...questions.map((q) => q.report.section), raw];
  return { title: 'tfjs-ddp study: batch normalization and dropout on MNIST', sections };
}
