import type { BnPlacement } from '@tfjs-ddp/nn';
import { categoryChart, sweepChart } from '../charts.js';
import { compareArms, effect, sampleSizes, sentence, type Comparison, type Sample } from '../compare.js';
import { count, countOf, percentMeanStd, plain } from '../format.js';
import { outcomeOf } from '../outcome.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import { baseArm, type ArmConfig } from '../run-config.js';
import { mean } from '../stats.js';
import { armTable, seedRows } from './arm-table.js';
import type { BudgetSettings } from '../budget.js';
import type { RunResult } from '../results.js';
import type { Arm, Question } from './question.js';
import type { ResultsIndex } from './results-index.js';

/** A learning rate is "usable" for an arm when no run of it failed and its mean accuracy is within this of the arm's best. */
export const USABLE_WITHIN = 0.02;

const BN: { placement: BnPlacement; label: string }[] = [
  { placement: 'none', label: 'no BN' },
  { placement: 'before', label: 'BN before relu' },
];

function arm(globalBatch: number, placement: BnPlacement, learningRate: number, initScale = 1, warmup = 0): ArmConfig {
  const schedule = warmup > 0 ? { lrWarmupSteps: warmup } : {};
  return { ...baseArm(globalBatch), bnPlacement: placement, optimizer: { name: 'sgd', learningRate }, initScale, ...schedule };
}

/** The x3 check: BN on the hidden dense layer too, at the worse-initialization rate and the largest scale. */
function denseBnArm(settings: BudgetSettings): ArmConfig {
  const scale = Math.max(...settings.worseInitScales);
  return { ...arm(settings.globalBatch, 'before', settings.worseInitLearningRate, scale), network: 'cnn-dense-bn' };
}

const failed = (r: RunResult): boolean => outcomeOf(r) === 'collapsed' || outcomeOf(r) === 'diverged';

/**
 * The rates at which no BN failed (a run collapsed or diverged) while every BN run trained:
 * the range the claim "BN tolerates higher learning rates" is about.
 */
function rangeSentence(results: ResultsIndex, globalBatch: number, rates: readonly number[], warmup: number): string {
  const failedAt = (placement: BnPlacement): number[] => rates.filter((lr) => results.runs(arm(globalBatch, placement, lr, 1, warmup)).some(failed));
  const none = failedAt('none');
  const bn = failedAt('before');
  const onlyNone = none.filter((lr) => !bn.includes(lr));
  const list = (l: number[]): string => (l.length === 0 ? 'no rate' : l.map((x) => plain(x)).join(', '));
  const label = warmup > 0 ? `With ${count(warmup, 'warmup step')}` : 'Without warmup';
  return sentence(
    `${label}, no BN had a collapsed or diverged run at ${list(none)} and BN at ${list(bn)}; ` +
      (onlyNone.length > 0 ? `BN trained in every run where no BN failed at ${list(onlyNone)}` : 'at no rate did no BN fail while BN trained in every run'),
  );
}

/**
 * The learning rates without a collapsed or diverged run whose mean accuracy is within
 * USABLE_WITHIN of the best such rate's: a rate where some seeds fail is not usable however
 * well the others did. With no such rate at all, `best` is NaN and `usable` empty.
 */
function usableRates(results: ResultsIndex, globalBatch: number, placement: BnPlacement, rates: readonly number[]): { best: number; usable: number[] } {
  const means = rates
    .filter((lr) => results.runs(arm(globalBatch, placement, lr)).every((r) => outcomeOf(r) !== 'collapsed' && outcomeOf(r) !== 'diverged'))
    .map((lr) => ({ lr, m: mean(results.accuracies(arm(globalBatch, placement, lr))) }));
  if (means.length === 0) return { best: Number.NaN, usable: [] };
  const best = means.reduce((a, b) => (b.m > a.m ? b : a));
  return { best: best.lr, usable: means.filter((x) => x.m >= best.m - USABLE_WITHIN).map((x) => x.lr) };
}

function ratesWhere(list: { lr: number; c: Comparison }[], d: Comparison['direction']): string {
  return list.filter((x) => x.c.direction === d).map((x) => plain(x.lr)).join(', ');
}

/** "BN at 0.3: collapsed 3 of 5, diverged 0 of 5": every arm with a failed run, or that none failed. */
function failures(results: ResultsIndex, arms: { label: string; config: ReturnType<typeof arm> }[]): string {
  const failed = arms.flatMap(({ label, config }) => {
    const runs = results.runs(config);
    const collapsed = runs.filter((r) => outcomeOf(r) === 'collapsed').length;
    const diverged = runs.filter((r) => outcomeOf(r) === 'diverged').length;
    return collapsed + diverged === 0 ? [] : [`${label}: collapsed ${countOf(collapsed, runs.length)}, diverged ${countOf(diverged, runs.length)}`];
  });
  const unchecked = arms.some(({ config }) => results.runs(config).some((r) => outcomeOf(r) === 'unchecked'));
  const none = unchecked ? 'no run diverged (collapse was not recorded in these results)' : 'no run collapsed or diverged';
  return failed.length === 0 ? none : `runs that collapsed or diverged, left out of the means and comparisons: ${failed.join('; ')}`;
}

/**
 * Why BN before relu with bias-free convolutions collapses at x3 initialization, from a
 * small experiment (seeds 1-3, SGD 0.1, 64 steps of 64 on the quick subset, wasm, Dec 2026):
 * each layer's kernels scaled separately; h is the classifier's input in training mode.
 */
export const X3_EXPLANATION =
  'Why BN collapses at x3 although it should be immune to a kernel\'s scale (a separate experiment, seeds 1-3, SGD 0.1, 64 steps, ' +
  'each layer\'s kernels scaled on its own): BN is immune only where it sits. With only the conv kernels x3 the first batch loss was ' +
  'the same as at x1 (2.97, 3.12, 2.78 against 2.97, 3.12, 2.80: BN removes their scale from the forward pass) and no run collapsed, ' +
  'though they learned more slowly (83.2, 37.8, 45.6 % against 87.0, 83.4, 58.6 % at x1: a kernel 3 times larger gets a 3 times ' +
  'smaller gradient, a 9 times smaller relative step). The two dense layers after the convolutions have no BN: with every kernel x3 ' +
  'the first batch loss was already 11.7-12.5 before any update (the softmax saturated), the classifier\'s input h had a mean squared ' +
  'norm of 489-711 against 54-79 at x1, so one SGD step at 0.1 moves a logit by about lr × |h|², several tens; the outputs stay ' +
  'one-hot, the clipped cross-entropy gives them no gradient, and every run ended predicting one class. Scaling only the last dense ' +
  'layer x3 collapsed all three seeds too (first loss 5.5-7.2). BN makes this worse than no BN because it feeds the dense layers ' +
  'unit-variance features: without BN |h|² was 0.17 at x1 and 124 at x3 (seed 1, first loss 7.33), and that run recovered (89.0 %). ' +
  'Two checks: with BN also on the hidden dense layer every kernel x3 trained (90.6, 88.6, 89.6 %; first loss 4.4-5.2; the study ' +
  'repeats it on every seed below), and BN at x3 with SGD 0.01 recovered partly (75.8 %, seed 1). So the collapse is the learning ' +
  'rate against the feature norm at the un-normalized dense layers, not a failure of BN where it is applied.';

export const learningRateQuestion: Question = {
  id: 'q4-learning-rate',
  title: '4. Learning-rate sweep and a worse initialization, with and without BN',
  short: 'learning rate and initialization',
  arms(settings): Arm[] {
    const g = settings.globalBatch;
    const sweep = [0, settings.warmupSteps].flatMap((w) =>
      BN.flatMap(({ placement, label }) =>
        settings.learningRates.map((lr) => ({ label: `${label}, sgd ${lr}${w > 0 ? `, warmup ${w}` : ''}`, config: arm(g, placement, lr, 1, w) })),
      ),
    );
    const scales = [1, ...settings.worseInitScales];
    const init = BN.flatMap(({ placement, label }) =>
      scales.map((s) => {
        const lr = settings.worseInitLearningRate;
        return { label: `${label}, sgd ${lr}, init x${s}`, config: arm(g, placement, lr, s) };
      }),
    );
    // The x3 explanation's check: BN on the hidden dense layer too.
    const denseBn = { label: `BN before relu also on the dense layer, sgd ${settings.worseInitLearningRate}, init x3`, config: denseBnArm(settings) };
    return [...sweep, ...init, denseBn];
  },
  analyze(results, settings) {
    const g = settings.globalBatch;
    const rates = settings.learningRates;
    const name = (placement: BnPlacement, lr: number, scale = 1): string =>
      `${placement === 'none' ? 'no BN' : 'BN'} at ${plain(lr)}${scale === 1 ? '' : ` with kernels x${scale}`}`;
    const sample = (placement: BnPlacement, lr: number, scale = 1): Sample => results.sample(name(placement, lr, scale), arm(g, placement, lr, scale));
    const perRate = rates.map((lr) => ({ lr, c: compareArms(sample('before', lr), sample('none', lr)) }));
    type Usable = ReturnType<typeof usableRates>;
    const usable = Object.fromEntries(BN.map(({ placement }) => [placement, usableRates(results, g, placement, rates)])) as Record<BnPlacement, Usable>;
    const topBn = Math.max(...usable.before.usable);
    const topNone = Math.max(...usable.none.usable);
    // The rate grid is coarse (steps of about 3x) and each arm's top rate is one number, so this compares grid points, not an estimate with an interval.
    const support =
      topBn > topNone
        ? 'are in line with BN tolerating higher learning rates'
        : topBn === topNone
          ? 'put both at the same grid point'
          : 'do not support that BN tolerates higher learning rates (here it was the other way round)';
    const unresolvedAt = perRate.find((x) => x.c.direction === 'unresolved');
    const n = unresolvedAt === undefined ? '' : ` (${sampleSizes(unresolvedAt.c)})`;
    const wording = { higher: 'above', lower: 'below', unresolved: `not resolved${n} against` } as const;
    const where = (['higher', 'lower', 'unresolved'] as const)
      .filter((d) => ratesWhere(perRate, d) !== '')
      .map((d, i) => `${i === 0 ? 'BN was ' : ''}${wording[d]} ${i === 0 ? 'no BN' : 'it'} at ${ratesWhere(perRate, d)}`);
    const sweepArms = BN.flatMap(({ placement }) => rates.map((lr) => ({ label: name(placement, lr), config: arm(g, placement, lr) })));
    const lrSentence = sentence(
      `The highest SGD learning rate with no failed run and within ${USABLE_WITHIN * 100} points of the arm's own best was ${plain(topBn)} with BN ` +
        `and ${plain(topNone)} without, so the numbers ${support}; ${where.join(', ')}; ${failures(results, sweepArms)}`,
    );
    const lrInit = settings.worseInitLearningRate;
    const initFindings = settings.worseInitScales.map((s) => {
      const bnVsNone = compareArms(sample('before', lrInit, s), sample('none', lrInit, s));
      const bnDrop = compareArms(sample('before', lrInit, s), sample('before', lrInit));
      const noneDrop = compareArms(sample('none', lrInit, s), sample('none', lrInit));
      const drop = (c: Comparison): string => {
        if (c.direction === 'lower') return `fell (${effect(c)})`;
        return c.direction === 'higher' ? `rose (${effect(c)})` : `changed by an amount not resolved at ${sampleSizes(c)} (${effect(c)})`;
      };
      return {
        scale: s,
        bnVsNone,
        text: sentence(
          `With initial kernels x${s} at learning rate ${plain(lrInit)}, no BN's accuracy ${drop(noneDrop)} and BN's ${drop(bnDrop)} ` +
            `from the default initialization; ${bnVsNone.sentence}`,
        ),
      };
    });
    const tolerated = initFindings.filter((f) => f.bnVsNone.direction === 'higher').map((f) => `x${f.scale}`);
    const initArms = BN.flatMap(({ placement }) =>
      settings.worseInitScales.map((sc) => ({ label: name(placement, lrInit, sc), config: arm(g, placement, lrInit, sc) })),
    );
    const initSentence = sentence(
      (tolerated.length > 0
        ? `Under the worse initialization${tolerated.length > 1 ? 's' : ''} ${tolerated.join(' and ')} BN was above no BN (95 % CI above 0); ` +
            (initFindings
              .filter((f) => f.bnVsNone.direction !== 'higher')
              .map((f) => `at x${f.scale} it was not shown to be`)
              .join(', ') || 'that held for every scale tried')
        : 'Under no worse initialization tried was BN shown to be above no BN (95 % CI above 0)') + `; ${failures(results, initArms)}`,
    );
    const warmups = [0, settings.warmupSteps];
    const ranges = warmups.map((w) => rangeSentence(results, g, rates, w));
    const worst = Math.max(...settings.worseInitScales);
    const denseBnCheck = sentence(
      `The x${worst} check: ` +
        `${compareArms(results.sample(`BN also on the dense layer at x${worst}`, denseBnArm(settings)), sample('before', lrInit, worst)).sentence}; ` +
        failures(results, [{ label: `BN also on the dense layer at x${worst}`, config: denseBnArm(settings) }]),
    );
    const headline = `${ranges.join(' ')} ${initSentence}`;
    const warmupLabel = (w: number): string => (w > 0 ? `${w} steps` : 'none');
    const sweepRows = warmups.flatMap((w) =>
      BN.flatMap(({ placement, label }) =>
        rates.map((lr) => ({ labels: [label, warmupLabel(w), plain(lr)], runs: results.runs(arm(g, placement, lr, 1, w)) })),
      ),
    );
    const scales = [1, ...settings.worseInitScales];
    const runsAtInit = (placement: BnPlacement, s: number): ReturnType<typeof results.runs> => results.runs(arm(g, placement, lrInit, s));
    const initRows = BN.flatMap(({ placement, label }) => scales.map((s) => ({ labels: [label, `x${s}`], runs: runsAtInit(placement, s) })));
    const usableText = BN.map(({ placement, label }) => {
      const { best, usable: within } = usable[placement];
      if (within.length === 0) return `${label}: every rate had a failed run`;
      const accuracy = percentMeanStd(results.accuracies(arm(g, placement, best)));
      return `${label}: best ${plain(best)} (${accuracy} %), within ${USABLE_WITHIN * 100} points at ${within.map((r) => plain(r)).join(', ')}`;
    }).join('; ');
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph(
            `Plain SGD (no momentum), where the learning rate matters most, at rates ${rates.map((r) => plain(r)).join(', ')}; then, at rate ` +
              `${plain(lrInit)}, every conv and dense kernel's Glorot-uniform initialization multiplied by ` +
              `${settings.worseInitScales.join(' and by ')}. The dense layers have no BN in either arm, so BN can absorb a bad scale only in ` +
              `the conv layers. The sweep runs twice: without warmup and with the rate rising linearly over the first ` +
              `${settings.warmupSteps} steps. Usable rates for each arm without warmup: ${usableText}.`,
          ),
          paragraph(X3_EXPLANATION),
          table(armTable('Test accuracy by SGD learning rate', ['BN', 'warmup', 'learning rate'], sweepRows)),
          chart(
            sweepChart({
              id: 'q4-learning-rate',
              title: 'Test accuracy by SGD learning rate (mean ± std over trained runs; dots: every seed)',
              rows: warmups.flatMap((w) =>
                BN.flatMap(({ placement, label }) =>
                  rates.flatMap((lr) => seedRows({ bn: `${label}, warmup ${warmupLabel(w)}`, lr }, results.runs(arm(g, placement, lr, 1, w)))),
                ),
              ),
              x: { field: 'lr', title: 'learning rate (log scale)', log: true },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'bn', title: 'BN, warmup', order: warmups.flatMap((w) => BN.map((b) => `${b.label}, warmup ${warmupLabel(w)}`)) },
            }),
          ),
          table(armTable(`Test accuracy by initial kernel scale (SGD ${plain(lrInit)})`, ['BN', 'kernel scale'], initRows)),
          chart(
            categoryChart({
              id: 'q4-init',
              title: `Test accuracy by initial kernel scale, SGD ${plain(lrInit)} (mean ± std over trained runs; dots: every seed)`,
              rows: BN.flatMap(({ placement, label }) => scales.flatMap((s) => seedRows({ bn: label, scale: `x${s}` }, runsAtInit(placement, s)))),
              x: { field: 'scale', title: 'Glorot-uniform kernels times', order: scales.map((s) => `x${s}`) },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'bn', title: 'BN', order: BN.map((b) => b.label) },
            }),
          ),
          findings([...ranges, lrSentence, ...perRate.map((x) => sentence(x.c.sentence)), initSentence, ...initFindings.map((f) => f.text), denseBnCheck]),
        ],
      },
    };
  },
};
