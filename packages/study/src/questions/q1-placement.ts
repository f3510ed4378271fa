import type { BnPlacement } from '@tfjs-ddp/nn';
import { curveChart, categoryChart } from '../charts.js';
import { compareArms, effect, sampleSizes, sentence, type Comparison } from '../compare.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import { baseArm, type ArmConfig } from '../run-config.js';
import { armTable, curveRows, seedRows } from './arm-table.js';
import type { Arm, Question } from './question.js';

const PLACEMENTS: { placement: BnPlacement; label: string }[] = [
  { placement: 'none', label: 'no BN' },
  { placement: 'after', label: 'BN after relu' },
  { placement: 'before', label: 'BN before relu' },
];

function arm(globalBatch: number, placement: BnPlacement): ArmConfig {
  return { ...baseArm(globalBatch), bnPlacement: placement };
}

/** "above no BN (+4.20 points, 95 % CI ...)" or "not resolved against no BN at n = 3 (...)": one comparison, short, by its interval. */
function against(c: Comparison, other: string): string {
  if (c.direction === 'unresolved') return `not resolved against ${other} at ${sampleSizes(c)} (${effect(c)})`;
  return `${c.direction === 'higher' ? 'above' : 'below'} ${other} (${effect(c)})`;
}

/** What BN did against no BN, in both placements, from two comparisons. */
function bnEffect(before: Comparison, after: Comparison): string {
  return `BN before relu was ${against(before, 'no BN')}; BN after relu was ${against(after, 'no BN')}`;
}

export const placementQuestion: Question = {
  id: 'q1-placement',
  title: '1. No BN, BN after the activation, BN before the activation',
  short: 'BN placement',
  arms(settings): Arm[] {
    // Curves and test-batch statistics of these runs also serve question 5.
    return PLACEMENTS.map(({ placement, label }) => ({
      label,
      config: arm(settings.globalBatch, placement),
      extras: { curve: true, testTimeStatistics: placement !== 'none' },
    }));
  },
  analyze(results, settings) {
    const samples = PLACEMENTS.map(({ placement, label }) => results.sample(label, arm(settings.globalBatch, placement)));
    const [none, after, before] = samples as [(typeof samples)[number], (typeof samples)[number], (typeof samples)[number]];
    const beforeVsNone = compareArms(before, none);
    const afterVsNone = compareArms(after, none);
    const beforeVsAfter = compareArms(before, after);
    const headline = sentence(`${bnEffect(beforeVsNone, afterVsNone)}; BN before relu was ${against(beforeVsAfter, 'BN after relu')}`);
    const runsOf = (placement: BnPlacement): ReturnType<typeof results.runs> => results.runs(arm(settings.globalBatch, placement));
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph(
            'The same CNN (conv16 - conv32 - dense64 - dense10) without BN, with BN after each conv layer\'s relu (where Keras examples often put ' +
              'it), and with BN between the conv layer and its relu (as in the BN paper; the conv layer then has no bias). Adam, learning rate ' +
              '0.001, no dropout, BN over the whole global batch of 64.',
          ),
          table(armTable('Test accuracy by BN placement', ['arm'], PLACEMENTS.map(({ placement, label }) => ({ labels: [label], runs: runsOf(placement) })))),
          chart(
            categoryChart({
              id: 'q1-placement',
              title: 'Test accuracy by BN placement (mean ± std over trained runs; dots: every seed)',
              rows: PLACEMENTS.flatMap(({ placement, label }) => seedRows({ arm: label }, runsOf(placement))),
              x: { field: 'arm', title: 'BN placement', order: PLACEMENTS.map((p) => p.label) },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
            }),
          ),
          chart(
            curveChart({
              id: 'q1-curves',
              title: `Test accuracy along training (first ${settings.curveTestSamples} test samples, moving statistics)`,
              rows: PLACEMENTS.flatMap(({ placement, label }) => curveRows({ arm: label }, runsOf(placement), 'moving')),
              x: { field: 'step', title: 'training step' },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'arm', title: 'BN placement', order: PLACEMENTS.map((p) => p.label) },
            }),
          ),
          findings([headline, ...[beforeVsNone, afterVsNone, beforeVsAfter].map((c) => sentence(c.sentence))]),
        ],
      },
    };
  },
};
