import { DEFAULT_BN_MOMENTUM, type BnPlacement } from '@tfjs-ddp/nn';
import { categoryChart, curveChart, type ChartRow } from '../charts.js';
import { compareArms, effect, sampleSizes, sentence, type Comparison } from '../compare.js';
import { StudyError } from '../errors.js';
import { count, percent, percentMeanStd, plain } from '../format.js';
import { counts } from '../outcome.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import type { RunResult } from '../results.js';
import { baseArm, STUDY_BN_MOMENTUM, type ArmConfig } from '../run-config.js';
import { curveRows } from './arm-table.js';
import type { Arm, Question } from './question.js';

const PLACEMENTS: { placement: BnPlacement; label: string }[] = [
  { placement: 'before', label: 'BN before relu' },
  { placement: 'after', label: 'BN after relu' },
];
const MOVING = 'moving statistics';
const OWN = "test batch's own statistics";

function arm(globalBatch: number, placement: BnPlacement, bnMomentum = STUDY_BN_MOMENTUM): ArmConfig {
  return { ...baseArm(globalBatch), bnPlacement: placement, bnMomentum };
}

function batchAccuracies(runs: readonly RunResult[], batchSize: number): number[] {
  return runs.map((r) => {
    const found = r.batchStatistics.find((s) => s.batchSize === batchSize);
    if (found === undefined) throw new StudyError('STUDY_ERR_MISSING_RESULT', `run ${r.key} has no test-batch statistics at batch ${batchSize}`);
    return found.accuracy;
  });
}

/** Accuracy at the learning curve's point `index` (moving or batch statistics), one per seed. */
function curveAccuracies(runs: readonly RunResult[], index: number, statistics: 'moving' | 'batch'): number[] {
  return runs.map((r) => {
    const point = r.curve[index];
    const score = statistics === 'moving' ? point?.moving : point?.batch;
    if (score === undefined) throw new StudyError('STUDY_ERR_MISSING_RESULT', `run ${r.key} has no ${statistics} curve point ${index}`);
    return score.accuracy;
  });
}

/** "above", "below" or "not resolved (n = 5 pairs) against": the verdict of a comparison's interval. */
const verb = (c: Comparison): string =>
  c.direction === 'unresolved' ? `not resolved (${sampleSizes(c)}) against` : c.direction === 'higher' ? 'above' : 'below';

export const testStatisticsQuestion: Question = {
  id: 'q5-test-statistics',
  title: "5. At test time: moving statistics or the test batch's own; BN momentum 0.99 or lower",
  short: 'test-time statistics and BN momentum',
  arms(settings): Arm[] {
    const g = settings.globalBatch;
    return [
      ...PLACEMENTS.map(({ placement, label }) => ({ label, config: arm(g, placement), extras: { testTimeStatistics: true, curve: true } })),
      { label: `BN before relu, momentum ${DEFAULT_BN_MOMENTUM}`, config: arm(g, 'before', DEFAULT_BN_MOMENTUM), extras: { curve: true } },
    ];
  },
  analyze(results, settings) {
    const g = settings.globalBatch;
    const sizes = settings.testBatchSizes;
    // (a) The same trained models, evaluated both ways: paired by model; collapsed and diverged models are left out of both sides.
    const byPlacement = PLACEMENTS.map(({ placement, label }) => {
      const runs = results.trainedRuns(arm(g, placement));
      const moving = { name: `${label}, ${MOVING}`, values: runs.map((r) => r.test.accuracy) };
      const own = sizes.map((size) => {
        const s = { name: `${label}, own statistics of test batches of ${size}`, values: batchAccuracies(runs, size) };
        return { size, sample: s, vsMoving: compareArms(s, moving, { paired: true }) };
      });
      return { placement, label, runs, moving, own };
    });
    const perSize = sizes.map((size, i) => {
      const directions = byPlacement.map((p) => ({ label: p.label, c: (p.own[i] as (typeof p.own)[number]).vsMoving }));
      const first = directions[0]?.c as Comparison;
      const same = directions.every((d) => d.c.direction === first.direction);
      return same
        ? `at test batch ${size} they were ${verb(first)} the moving ones in both placements`
        : `at test batch ${size} they were ${directions.map((d) => `${verb(d.c)} the moving ones with ${d.label}`).join(' but ')}`;
    });
    const statisticsSentence = sentence(`Normalizing with each test batch's own statistics: ${perSize.join('; ')}`);

    // (b) Momentum: it changes no weight, only the moving statistics used at inference.
    // Paired by seed: only the seeds whose runs trained at both momenta.
    const bothTrained = (r: RunResult): boolean =>
      [arm(g, 'before'), arm(g, 'before', DEFAULT_BN_MOMENTUM)].every((a) => results.runs(a).some((o) => o.config.seed === r.config.seed && counts(o)));
    const low = results.runs(arm(g, 'before')).filter(bothTrained);
    const high = results.runs(arm(g, 'before', DEFAULT_BN_MOMENTUM)).filter(bothTrained);
    const highSample = { name: `momentum ${DEFAULT_BN_MOMENTUM}`, values: high.map((r) => r.test.accuracy) };
    const lowSample = { name: `momentum ${STUDY_BN_MOMENTUM}`, values: low.map((r) => r.test.accuracy) };
    const finalComparison = compareArms(highSample, lowSample, { paired: true });
    const firstComparison = compareArms(
      { name: highSample.name, values: curveAccuracies(high, 0, 'moving') },
      { name: lowSample.name, values: curveAccuracies(low, 0, 'moving') },
      { paired: true },
    );
    const steps = low[0]?.steps ?? 0;
    const firstStep = low[0]?.curve[0]?.step ?? 0;
    const left = DEFAULT_BN_MOMENTUM ** steps;
    let largestGap = 0;
    low.forEach((r, i) =>
      r.curve.forEach((p, j) => {
        const other = high[i]?.curve[j]?.batch?.accuracy;
        if (p.batch !== undefined && other !== undefined) largestGap = Math.max(largestGap, Math.abs(p.batch.accuracy - other));
      }),
    );
    const sameTraining =
      largestGap === 0
        ? 'both momenta trained identical weights (their accuracies with batch statistics are equal at every curve point), so the difference is the ' +
          'inference statistics alone'
        : `their accuracies with batch statistics differ by up to ${percent(largestGap)} points, so training itself differed slightly`;
    const momentumSentence = sentence(
      `After ${count(steps, 'step')} tfjs's default momentum ${DEFAULT_BN_MOMENTUM} still leaves ${percent(left, 1)} % of the initial moving ` +
        `statistics (mean 0, variance 1) in place and its test accuracy was ${verb(finalComparison)} momentum ${STUDY_BN_MOMENTUM}'s ` +
        `(${effect(finalComparison)}); after ${count(firstStep, 'step')} it was ${verb(firstComparison)} it (${effect(firstComparison)})`,
    );
    const headline = `${statisticsSentence} ${momentumSentence}`;
    const lowLeft = STUDY_BN_MOMENTUM ** steps;

    const statisticsRows = byPlacement.flatMap((p) => [
      [p.label, MOVING, 'any', percentMeanStd(p.moving.values), '—'],
      ...p.own.map((o) => {
        return [p.label, OWN, String(o.size), percentMeanStd(o.sample.values), effect(o.vsMoving)];
      }),
    ]);
    const statisticsChartRows: ChartRow[] = byPlacement.flatMap((p) =>
      sizes.flatMap((size, i) =>
        p.runs.flatMap((r, k) => [
          { bn: p.label, batch: String(size), statistics: MOVING, seed: r.config.seed, accuracy: (p.moving.values[k] as number) * 100 },
          { bn: p.label, batch: String(size), statistics: OWN, seed: r.config.seed, accuracy: (p.own[i]?.sample.values[k] as number) * 100 },
        ]),
      ),
    );
    const momentumRows = [
      { sample: highSample, runs: high, momentum: DEFAULT_BN_MOMENTUM },
      { sample: lowSample, runs: low, momentum: STUDY_BN_MOMENTUM },
    ].map(({ sample: s, runs, momentum }) => [
      String(momentum),
      percentMeanStd(curveAccuracies(runs, 0, 'moving')),
      percentMeanStd(s.values),
      percentMeanStd(curveAccuracies(runs, runs[0] === undefined ? 0 : runs[0].curve.length - 1, 'batch')),
      `${percent(momentum ** steps, 1)} %`,
    ]);
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph(
            `The models of question 1 (Adam, BN momentum ${STUDY_BN_MOMENTUM}) evaluated on the test set with BN's moving statistics, as deployed, ` +
              `and with each test batch's own statistics (BN in training mode), at test batch sizes ${sizes.join(', ')}; the test set is in a ` +
              `seeded random order, so batches mix digits. With moving statistics a prediction does not depend on the batch, so one number ` +
              `serves every batch size. A batch of 1 still has statistics: BN follows conv layers and averages over the image's positions.`,
          ),
          table({
            caption: 'Test accuracy with moving against test-batch statistics (same models)',
            columns: ['BN', 'statistics', 'test batch', 'test accuracy % (mean ± std)', 'vs moving (paired)'],
            rows: statisticsRows,
          }),
          chart(
            categoryChart({
              id: 'q5-test-statistics',
              title: 'Test accuracy: moving statistics against each test batch\'s own (mean ± std over trained runs; dots: those runs)',
              rows: statisticsChartRows,
              x: { field: 'batch', title: 'test batch size', order: sizes.map(String) },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'statistics', title: 'BN statistics at test time', order: [MOVING, OWN] },
              column: { field: 'bn', title: 'placement', order: PLACEMENTS.map((p) => p.label) },
            }),
          ),
          paragraph(
            `BN before relu trained twice per seed, with tfjs's default momentum ${DEFAULT_BN_MOMENTUM} and with ${STUDY_BN_MOMENTUM}; a run is ` +
              `${count(steps, 'step')}. Learning curves on the first ${settings.curveTestSamples} test samples.`,
          ),
          table({
            caption: 'BN momentum on a short run',
            columns: [
              'momentum',
              `accuracy % after ${count(firstStep, 'step')} (moving)`,
              `final test accuracy % (moving)`,
              `final accuracy % with batch statistics (batches of ${g})`,
              `initial statistics left after ${count(steps, 'step')}`,
            ],
            rows: momentumRows,
          }),
          chart(
            curveChart({
              id: 'q5-momentum',
              title: `Test accuracy along training: BN momentum ${DEFAULT_BN_MOMENTUM} against ${STUDY_BN_MOMENTUM}`,
              rows: [
                ...curveRows({ series: `momentum ${DEFAULT_BN_MOMENTUM}, ${MOVING}` }, high, 'moving'),
                ...curveRows({ series: `momentum ${STUDY_BN_MOMENTUM}, ${MOVING}` }, low, 'moving'),
                ...curveRows({ series: `batch statistics (batches of ${g})` }, low, 'batch'),
              ],
              x: { field: 'step', title: 'training step' },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'series', title: 'inference with' },
            }),
          ),
          findings([
            statisticsSentence,
            ...byPlacement.flatMap((p) => p.own.map((o) => sentence(o.vsMoving.sentence))),
            momentumSentence,
            sentence(sameTraining),
            sentence(`${plain(DEFAULT_BN_MOMENTUM)}^${steps} = ${plain(left, 3)}; ${plain(STUDY_BN_MOMENTUM)}^${steps} = ${plain(lowLeft, 3)}`),
          ]),
        ],
      },
    };
  },
};
