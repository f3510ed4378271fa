import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { learningRateAt, lrScheduleOf, withRunLength } from './lr-schedule.js';

const job: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 64, optimizer: { name: 'sgd', learningRate: 0.1 }, seed: 1 };

/** [step, expected rate], each worked out by hand from the formula in lr-schedule.ts. */
function check(t: { diagnostic: (s: string) => void }, label: string, config: JobConfig, cases: [number, number][]): void {
  const schedule = lrScheduleOf(config, 0.1);
  for (const [step, expected] of cases) {
    const rate = learningRateAt(schedule, step);
    t.diagnostic(`${label}: step ${step} rate ${rate} (by hand ${expected})`);
    assert.ok(Math.abs(rate - expected) <= 1e-15, `${label} at step ${step}: ${rate}, by hand ${expected}`);
  }
}

test('constant is the optimizer rate at every step, exactly', (t) => {
  const schedule = lrScheduleOf(job, 0.1);
  for (const step of [0, 1, 999, 1e9]) assert.equal(learningRateAt(schedule, step), 0.1);
  check(t, 'constant', job, [[0, 0.1], [123456, 0.1]]);
});

test('linear warmup over W steps: step 0 uses rate / W, step W - 1 and after the full rate', (t) => {
  check(t, 'constant + warmup 4', { ...job, lrWarmupSteps: 4 }, [[0, 0.025], [1, 0.05], [2, 0.075], [3, 0.1], [4, 0.1], [50, 0.1]]);
});

test('step: times the factor at every boundary, counted from step 0', (t) => {
  const config: JobConfig = { ...job, lrSchedule: 'step', lrStepEvery: 10, lrStepFactor: 0.5 };
  check(t, 'step every 10 x 0.5', config, [[0, 0.1], [9, 0.1], [10, 0.05], [19, 0.05], [20, 0.025], [25, 0.025]]);
  check(t, 'step every 3, default factor 0.1', { ...job, lrSchedule: 'step', lrStepEvery: 3 }, [[2, 0.1], [3, 0.1 * 0.1], [6, 0.1 * 0.1 * 0.1]]);
});

test('cosine: the full rate after warmup, halfway between rate and floor mid-way, the floor at the end and after', (t) => {
  const config: JobConfig = { ...job, lrSchedule: 'cosine', lrWarmupSteps: 4, lrMin: 0.001, lrDecaySteps: 20 };
  // p = (s - 4) / 16: s = 8 is p = 1/4, where (1 + cos(pi / 4)) / 2 = 0.853553...
  const quarter = 0.001 + 0.099 * ((1 + Math.SQRT1_2) / 2);
  check(t, 'cosine W=4 T=20 min=0.001', config, [[0, 0.025], [3, 0.1], [4, 0.1], [8, quarter], [12, 0.0505], [20, 0.001], [30, 0.001]]);
  check(t, 'cosine to 0 over 10', { ...job, lrSchedule: 'cosine', lrDecaySteps: 10 }, [[0, 0.1], [5, 0.05], [10, 0]]);
});

test('linear scaling rule: the base rate times globalBatch / reference batch, warmup and schedule on top', (t) => {
  check(t, 'scaled 1024/256', { ...job, globalBatch: 1024, lrReferenceBatch: 256 }, [[0, 0.4], [100, 0.4]]);
  check(t, 'scaled 32/256 + warmup 2', { ...job, globalBatch: 32, lrReferenceBatch: 256, lrWarmupSteps: 2 }, [[0, 0.00625], [1, 0.0125], [2, 0.0125]]);
});

test("cosine needs its horizon: withRunLength fills in the run's total steps, and only for cosine", () => {
  assert.throws(() => lrScheduleOf({ ...job, lrSchedule: 'cosine' }, 0.1), { code: 'JOB_ERR_BAD_OPTION' });
  assert.throws(() => lrScheduleOf({ ...job, lrSchedule: 'step' }, 0.1), { code: 'JOB_ERR_BAD_OPTION' });
  assert.equal(withRunLength({ ...job, lrSchedule: 'cosine' }, 40).lrDecaySteps, 40);
  assert.equal(withRunLength({ ...job, lrSchedule: 'cosine', lrDecaySteps: 7 }, 40).lrDecaySteps, 7);
  assert.equal(withRunLength(job, 40), job, 'other schedules keep the config as it is (old checkpoints compare equal)');
});

test('a cosine floor above the rate it falls from is refused, naming both; a floor equal to it is a constant rate', () => {
  const cosine = { ...job, lrSchedule: 'cosine' as const, lrDecaySteps: 10 };
  assert.throws(() => lrScheduleOf({ ...cosine, lrMin: 0.2 }, 0.1), { code: 'JOB_ERR_BAD_OPTION', message: /lrMin 0.2 is above .*\(0.1\)/ });
  const flat = lrScheduleOf({ ...cosine, lrMin: 0.1 }, 0.1);
  assert.deepEqual([0, 5, 10].map((s) => learningRateAt(flat, s)), [0.1, 0.1, 0.1]);
});
