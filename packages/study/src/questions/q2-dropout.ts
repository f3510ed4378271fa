import type { BnPlacement } from '@tfjs-ddp/nn';
import type { BudgetSettings } from '../budget.js';
import { categoryChart } from '../charts.js';
import { compareArms, describe, sampleSizes, sentence, type Comparison, type Sample } from '../compare.js';
import { count, plain, plainMeanStd } from '../format.js';
import { counts } from '../outcome.js';
import type { RunResult } from '../results.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import { mean } from '../stats.js';
import { baseArm, type ArmConfig } from '../run-config.js';
import type { DropoutPosition } from '../study-model.js';
import { armCells, ARM_COLUMNS, seedRows } from './arm-table.js';
import type { Arm, Question } from './question.js';

/** No dropout, then dropout at each position. */
const POSITIONS: readonly (DropoutPosition | 'none')[] = ['none', 'conv', 'pool', 'classifier'];
const POSITION_LABELS: Record<DropoutPosition | 'none', string> = {
  none: 'no dropout',
  conv: 'after each conv (before pooling)',
  pool: 'after each pooling',
  classifier: 'before the classifier',
};
const BN: { placement: BnPlacement; label: string }[] = [
  { placement: 'none', label: 'no BN' },
  { placement: 'before', label: 'BN before relu' },
];

/** An arm on the small training subset, long enough to over-fit it. */
export function dropoutArm(settings: BudgetSettings, placement: BnPlacement, position: DropoutPosition | 'none'): ArmConfig {
  return {
    ...baseArm(settings.globalBatch),
    bnPlacement: placement,
    dropout: position === 'none' ? 0 : settings.dropoutRate,
    ...(position === 'none' ? {} : { dropoutAt: position }),
    trainSamples: settings.overfitTrainSamples,
    epochs: settings.overfitEpochs,
  };
}

/** Per run, test loss minus the loss on its own training samples (both as at test time): the over-fitting gap. */
function lossGaps(runs: readonly RunResult[]): number[] {
  return runs.filter(counts).flatMap((r) => (r.trainScore?.loss == null || r.test.loss === null ? [] : [r.test.loss - r.trainScore.loss]));
}

/** Per run, training accuracy minus test accuracy, in points. */
function accuracyGaps(runs: readonly RunResult[]): number[] {
  return runs.filter(counts).flatMap((r) => (r.trainScore === undefined ? [] : [(r.trainScore.accuracy - r.test.accuracy) * 100]));
}

function positionsWhere(list: { position: DropoutPosition | 'none'; c: Comparison }[], d: Comparison['direction']): string {
  return list.filter((x) => x.c.direction === d).map((x) => POSITION_LABELS[x.position]).join(', ');
}

export const dropoutQuestion: Question = {
  id: 'q2-dropout',
  title: '2. Dropout position on a small training subset, with and without BN: does BN replace dropout?',
  short: 'dropout with and without BN',
  arms(settings): Arm[] {
    return BN.flatMap(({ placement, label }) =>
      POSITIONS.map((position) => ({
        label: `${label}, ${POSITION_LABELS[position]}`,
        config: dropoutArm(settings, placement, position),
        extras: { trainScore: true },
      })),
    );
  },
  analyze(results, settings) {
    const runsOf = (placement: BnPlacement, position: DropoutPosition | 'none'): RunResult[] => results.runs(dropoutArm(settings, placement, position));
    const sample = (placement: BnPlacement, position: DropoutPosition | 'none'): Sample =>
      results.sample(`${placement === 'none' ? 'no BN' : 'BN'} with ${POSITION_LABELS[position]}`, dropoutArm(settings, placement, position));
    // Dropout layers have no weights: a seed gives the same initial weights and sample order with or without them, so the pairs are by seed.
    const effects = BN.map(({ placement, label }) => ({
      label,
      placement,
      comparisons: POSITIONS.filter((p) => p !== 'none').map((position) => ({
        position,
        c: compareArms(sample(placement, position), sample(placement, 'none'), { paired: true }),
      })),
    }));
    const [withoutBn, withBn] = effects as [(typeof effects)[number], (typeof effects)[number]];
    const helps = (e: (typeof effects)[number]): boolean => e.comparisons.some((x) => x.c.direction === 'higher');
    const effectText = (e: (typeof effects)[number]): string => {
      const unresolved = e.comparisons.find((x) => x.c.direction === 'unresolved');
      const parts = (['higher', 'lower', 'unresolved'] as const)
        .filter((d) => positionsWhere(e.comparisons, d) !== '')
        .map((d) => {
          const where = positionsWhere(e.comparisons, d);
          if (d === 'unresolved') return `had an effect not resolved at ${unresolved === undefined ? '' : sampleSizes(unresolved.c)} ${where}`;
          return `${d === 'higher' ? 'raised' : 'lowered'} accuracy (95 % CI ${d === 'higher' ? 'above' : 'below'} 0) ${where}`;
        });
      return parts.join(', ');
    };
    const dropoutPositions = POSITIONS.filter((p): p is DropoutPosition => p !== 'none');
    const bestNoBn = dropoutPositions.reduce((best, p) => (mean(sample('none', p).values) > mean(sample('none', best).values) ? p : best));
    const replaces = compareArms(sample('before', 'none'), sample('none', bestNoBn), { paired: true });
    const verdict = helps(withBn)
      ? 'dropout still raised accuracy on top of BN, so BN did not replace it'
      : !helps(withoutBn)
        ? 'dropout was not shown to help even without BN, so whether BN replaces it is not answered here'
        : replaces.direction === 'lower'
          ? 'dropout helped without BN, and BN alone stayed below the best dropout model without BN, so BN did not replace dropout here'
          : replaces.direction === 'higher'
            ? 'dropout helped without BN but not with it, and BN alone was above the best dropout model without BN: consistent with BN replacing dropout here'
            : `dropout helped without BN but not with it, and BN alone against the best dropout model without BN was not resolved at ${sampleSizes(replaces)}`;
    const gapBase = lossGaps(runsOf('none', 'none'));
    const gapBn = lossGaps(runsOf('before', 'none'));
    const overfit = sentence(
      `On ${settings.overfitTrainSamples} training samples for ${count(settings.overfitEpochs, 'epoch')}, without dropout the test loss ended ` +
        `${plain(mean(gapBase), 3)} above the training loss without BN and ${plain(mean(gapBn), 3)} above it with BN (means over seeds; both losses ` +
        `as at test time, on the run's own training samples and on the test set)`,
    );
    const headline = sentence(`Without BN dropout ${effectText(withoutBn)}; with BN it ${effectText(withBn)}; ${verdict}`);
    const rows = BN.flatMap(({ placement, label }) =>
      POSITIONS.map((position) => {
        const runs = runsOf(placement, position);
        return [label, POSITION_LABELS[position], ...armCells(runs), plainMeanStd(lossGaps(runs)), plainMeanStd(accuracyGaps(runs), 1)];
      }),
    );
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph(
            `Every arm trains on the first ${settings.overfitTrainSamples} samples of the training subset for ` +
              `${count(settings.overfitEpochs, 'epoch')} (Adam 0.001, global batch ${settings.globalBatch}), long enough for the ` +
              `model to fit them much better than the test set: the gap columns give, per arm, test loss minus training loss and ` +
              `training accuracy minus test accuracy, both measured at the end as at test time. Dropout ${settings.dropoutRate} sits ` +
              `after each conv block's activation, after each pooling layer, or before the classifier (after the hidden dense layer); ` +
              `masks come from the run seed, the step and the sample index. Comparisons are paired by seed (dropout layers have no ` +
              `weights, so a seed gives the same initial weights and sample order with or without them). What this cannot show: one ` +
              `rate per position, one subset size; a rate tuned per position could rank them differently.`,
          ),
          table({
            caption: 'Test accuracy and over-fitting gap by dropout position, with and without BN',
            columns: ['BN', 'dropout', ...ARM_COLUMNS, 'test − train loss', 'train − test accuracy (points)'],
            rows,
          }),
          chart(
            categoryChart({
              id: 'q2-dropout',
              title: 'Test accuracy by dropout position (mean ± std over trained runs; dots: every seed)',
              rows: BN.flatMap(({ placement, label }) => POSITIONS.flatMap((p) => seedRows({ bn: label, position: POSITION_LABELS[p] }, runsOf(placement, p)))),
              x: { field: 'position', title: `dropout ${settings.dropoutRate}`, order: POSITIONS.map((p) => POSITION_LABELS[p]) },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'bn', title: 'BN', order: BN.map((b) => b.label) },
            }),
          ),
          findings([
            headline,
            overfit,
            ...effects.flatMap((e) => e.comparisons.map((x) => sentence(x.c.sentence))),
            sentence(`BN alone against the best no-BN arm with dropout (${describe(sample('none', bestNoBn))}): ${replaces.sentence}`),
          ]),
        ],
      },
    };
  },
};
