import type { BnPlacement } from '@tfjs-ddp/nn';
import { categoryChart } from '../charts.js';
import { compareArms, describe, sampleSizes, sentence, type Comparison, type Sample } from '../compare.js';
import { plain } from '../format.js';
import { counts } from '../outcome.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import { mean } from '../stats.js';
import { baseArm, type ArmConfig } from '../run-config.js';
import { armTable, seedRows } from './arm-table.js';
import type { Arm, Question } from './question.js';

const RATES = [0, 0.25, 0.5];
const BN: { placement: BnPlacement; label: string }[] = [
  { placement: 'none', label: 'no BN' },
  { placement: 'before', label: 'BN before relu' },
];

function arm(globalBatch: number, placement: BnPlacement, dropout: number): ArmConfig {
  return { ...baseArm(globalBatch), bnPlacement: placement, dropout };
}

/** "lowered accuracy (95 % CI below 0) at rate 0.5, had an effect not resolved at n = 5 at rate 0.25", for one BN setting. */
function dropoutEffect(comparisons: { rate: number; c: Comparison }[]): string {
  const rates = (d: Comparison['direction']): string => {
    const list = comparisons.filter((x) => x.c.direction === d).map((x) => x.rate);
    return list.length === 0 ? '' : `at rate${list.length === 1 ? '' : 's'} ${list.join(' and ')}`;
  };
  const unresolved = comparisons.find((x) => x.c.direction === 'unresolved')?.c;
  const wording = {
    higher: 'raised accuracy (95 % CI above 0)',
    lower: 'lowered accuracy (95 % CI below 0)',
    unresolved: `had an effect not resolved at ${unresolved === undefined ? '' : sampleSizes(unresolved)}`,
  } as const;
  return (['higher', 'lower', 'unresolved'] as const)
    .filter((d) => rates(d) !== '')
    .map((d) => `${wording[d]} ${rates(d)}`)
    .join(', ');
}

export const dropoutQuestion: Question = {
  id: 'q2-dropout',
  title: '2. Dropout after pooling at rates 0, 0.25, 0.5, with and without BN',
  short: 'dropout with and without BN',
  arms(settings): Arm[] {
    const g = settings.globalBatch;
    return BN.flatMap(({ placement, label }) => RATES.map((rate) => ({ label: `${label}, dropout ${rate}`, config: arm(g, placement, rate) })));
  },
  analyze(results, settings) {
    const sample = (placement: BnPlacement, rate: number): Sample =>
      results.sample(`${placement === 'none' ? 'no BN' : 'BN'} with dropout ${rate}`, arm(settings.globalBatch, placement, rate));
    const effects = BN.map(({ placement }) => ({
      placement,
      comparisons: RATES.filter((r) => r > 0).map((rate) => ({ rate, c: compareArms(sample(placement, rate), sample(placement, 0)) })),
    }));
    const [withoutBn, withBn] = effects as [(typeof effects)[number], (typeof effects)[number]];
    // Does BN replace dropout: BN alone against the best model that has dropout and no BN.
    const bestNoBnRate = RATES.filter((r) => r > 0).reduce((best, r) => (mean(sample('none', r).values) > mean(sample('none', best).values) ? r : best));
    const bnAlone = sample('before', 0);
    const replaces = compareArms(bnAlone, sample('none', bestNoBnRate));
    const helps = (e: (typeof effects)[number]): boolean => e.comparisons.some((x) => x.c.direction === 'higher');
    const verdict = helps(withBn)
      ? 'dropout still raised accuracy on top of BN, so BN did not replace it'
      : !helps(withoutBn)
        ? 'dropout was not shown to help even without BN, so whether BN replaces it is not answered at this budget'
        : replaces.direction === 'lower'
          ? 'dropout helped without BN, and BN alone stayed below the best dropout model without BN, so BN did not replace dropout here'
          : replaces.direction === 'higher'
            ? 'dropout helped without BN but not with it, and BN alone was above the best dropout model without BN: consistent with BN ' +
              'replacing dropout at this budget'
            : `dropout helped without BN but not with it, and BN alone against the best dropout model without BN was not resolved at ` +
              `${sampleSizes(replaces)}`;
    const headline = sentence(`Without BN dropout ${dropoutEffect(withoutBn.comparisons)}; with BN it ${dropoutEffect(withBn.comparisons)}; ${verdict}`);
    const base = results.runs(arm(settings.globalBatch, 'before', 0));
    const trainLoss = mean(base.filter(counts).flatMap((r) => (r.trainLoss === null ? [] : [r.trainLoss])));
    const testLoss = mean(base.filter(counts).flatMap((r) => (r.test.loss === null ? [] : [r.test.loss])));
    const overfitting = `Context: BN without dropout ended with a mean training loss of ${plain(trainLoss, 3)} (last epoch, batch statistics) ` +
      `against a test loss of ${plain(testLoss, 3)}; dropout can only help where the model overfits, i.e. where the test loss is well above the ` +
      `training loss.`;
    const runsOf = (placement: BnPlacement, rate: number): ReturnType<typeof results.runs> => results.runs(arm(settings.globalBatch, placement, rate));
    const rows = BN.flatMap(({ placement, label }) => RATES.map((rate) => ({ labels: [label, String(rate)], runs: runsOf(placement, rate) })));
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph('Dropout after each of the two pooling layers (masks from the run seed, the step and the sample index, so they are the same ' +
            'whatever the sharding), with BN before relu and without BN; Adam 0.001, BN over the global batch.'),
          table(armTable('Test accuracy by dropout rate, with and without BN', ['BN', 'dropout'], rows)),
          chart(
            categoryChart({
              id: 'q2-dropout',
              title: 'Test accuracy by dropout rate (mean ± std over trained runs; dots: every seed)',
              rows: BN.flatMap(({ placement, label }) => RATES.flatMap((rate) => seedRows({ bn: label, dropout: String(rate) }, runsOf(placement, rate)))),
              x: { field: 'dropout', title: 'dropout rate', order: RATES.map(String) },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'bn', title: 'BN', order: BN.map((b) => b.label) },
            }),
          ),
          findings([
            headline,
            ...effects.flatMap((e) => e.comparisons.map((x) => sentence(x.c.sentence))),
            sentence(`BN alone against the best no-BN arm with dropout (${describe(sample('none', bestNoBnRate))}): ${replaces.sentence}`),
            overfitting,
          ]),
        ],
      },
    };
  },
};
