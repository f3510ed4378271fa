import type { BnPlacement } from '@tfjs-ddp/nn';
import { categoryChart } from '../charts.js';
import { compareArms, effect, sentence, type Comparison } from '../compare.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import { baseArm, type ArmConfig } from '../run-config.js';
import { DEEP_MLP_LAYERS, type StudyActivation, type StudyNetwork } from '../study-model.js';
import { armCells, ARM_COLUMNS, seedRows } from './arm-table.js';
import type { Arm, Question } from './question.js';

interface Variant {
  network: StudyNetwork;
  activation: StudyActivation;
  label: string;
}

/** The relu CNN's arms are question 1's (the same configurations, run once). */
const VARIANTS: readonly Variant[] = [
  { network: 'cnn', activation: 'relu', label: 'CNN, relu' },
  { network: 'cnn', activation: 'sigmoid', label: 'CNN, sigmoid' },
  { network: 'cnn', activation: 'tanh', label: 'CNN, tanh' },
  { network: 'deep-mlp', activation: 'relu', label: `${DEEP_MLP_LAYERS}-layer MLP, relu` },
  { network: 'deep-mlp', activation: 'sigmoid', label: `${DEEP_MLP_LAYERS}-layer MLP, sigmoid` },
];
const BN: { placement: BnPlacement; label: string }[] = [
  { placement: 'none', label: 'no BN' },
  { placement: 'before', label: 'BN before the activation' },
];

function arm(globalBatch: number, v: Variant, placement: BnPlacement): ArmConfig {
  return {
    ...baseArm(globalBatch),
    bnPlacement: placement,
    ...(v.network === 'cnn' ? {} : { network: v.network }),
    ...(v.activation === 'relu' ? {} : { activation: v.activation }),
  };
}

export const activationDepthQuestion: Question = {
  id: 'q6-activation-depth',
  title: `6. Saturating activations and a deeper plain network, with and without BN`,
  short: 'sigmoid/tanh and depth',
  arms(settings): Arm[] {
    return VARIANTS.flatMap((v) => BN.map(({ placement, label }) => ({ label: `${v.label}, ${label}`, config: arm(settings.globalBatch, v, placement) })));
  },
  analyze(results, settings) {
    const g = settings.globalBatch;
    const compared = VARIANTS.map((v) => ({
      v,
      c: compareArms(results.sample(`${v.label} with BN`, arm(g, v, 'before')), results.sample(`${v.label} without BN`, arm(g, v, 'none'))),
    }));
    const where = (d: Comparison['direction']): string => compared.filter((x) => x.c.direction === d).map((x) => x.v.label).join('; ');
    const parts = [
      ...(where('higher') === '' ? [] : [`raised accuracy (95 % CI above 0) for ${where('higher')}`]),
      ...(where('lower') === '' ? [] : [`lowered it (95 % CI below 0) for ${where('lower')}`]),
      ...(where('unresolved') === '' ? [] : [`had an effect not resolved at n = ${settings.seeds.length} per arm for ${where('unresolved')}`]),
    ];
    const headline = sentence(`BN ${parts.join('; ')}`);
    const rows = compared.flatMap(({ v, c }) =>
      BN.map(({ placement, label }) => [v.label, label, ...armCells(results.runs(arm(g, v, placement))), placement === 'before' ? effect(c) : '—']),
    );
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph(
            `The study's CNN with relu (question 1's arms), sigmoid or tanh after every hidden layer, and a deeper plain network: ` +
              `${DEEP_MLP_LAYERS} hidden dense layers of 64 without shortcuts, with relu or sigmoid. BN sits before the activation of every ` +
              `hidden layer (the CNN's hidden dense layer has none, as in the other questions). Adam 0.001, the budget's schedule. ` +
              `What this cannot show: one learning rate and one depth; a saturating network might do better with a rate tuned for it.`,
          ),
          table({ caption: 'Test accuracy by network and activation, with and without BN', columns: ['network', 'BN', ...ARM_COLUMNS, 'BN − no BN'], rows }),
          chart(
            categoryChart({
              id: 'q6-activation-depth',
              title: 'Test accuracy by network and activation (mean ± std over trained runs; dots: every seed)',
              rows: VARIANTS.flatMap((v) =>
                BN.flatMap(({ placement, label }) => seedRows({ variant: v.label, bn: label }, results.runs(arm(g, v, placement)))),
              ),
              x: { field: 'variant', title: 'network, activation', order: VARIANTS.map((v) => v.label) },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'bn', title: 'BN', order: BN.map((b) => b.label) },
            }),
          ),
          findings([headline, ...compared.map((x) => sentence(x.c.sentence))]),
        ],
      },
    };
  },
};
