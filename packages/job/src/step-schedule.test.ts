import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scheduleOf, StepSchedule } from './step-schedule.js';

test('a step schedule walks every epoch in order, marks epoch ends, and stops at maxSteps', () => {
  const schedule = new StepSchedule({ size: 10, globalBatch: 4, seed: 2, epochs: 2 });
  assert.equal(schedule.stepsPerEpoch, 3);
  assert.equal(schedule.totalSteps, 6);
  const steps = Array.from({ length: 6 }, (_, s) => schedule.at(s));
  assert.deepEqual(steps.map((s) => [s.epoch, s.stepInEpoch, s.indices.length, s.endsEpoch]), [
    [0, 0, 4, false], [0, 1, 4, false], [0, 2, 2, true], [1, 0, 4, false], [1, 1, 4, false], [1, 2, 2, true],
  ]);
  assert.deepEqual(steps[3]?.indices, schedule.sampler.batch(1, 0));
  assert.equal(new StepSchedule({ size: 10, globalBatch: 4, seed: 2, epochs: 2, maxSteps: 4 }).totalSteps, 4);
  assert.throws(() => schedule.at(6), { code: 'JOB_ERR_ARGUMENT' });
  assert.throws(() => new StepSchedule({ size: 10, globalBatch: 4, seed: 2, epochs: 0 }), { code: 'JOB_ERR_BAD_OPTION' });
});

test('scheduleOf builds the schedule of a job configuration over a training set of the given size', () => {
  const config = { globalBatch: 4, seed: 2, epochs: 2, maxSteps: 5, model: 'not read' };
  const schedule = scheduleOf(config, 10);
  const direct = new StepSchedule({ size: 10, globalBatch: 4, seed: 2, epochs: 2, maxSteps: 5 });
  assert.equal(schedule.totalSteps, 5);
  assert.equal(schedule.stepsPerEpoch, 3);
  for (let step = 0; step < 5; step++) assert.deepEqual(schedule.at(step), direct.at(step));
  assert.equal(scheduleOf({ globalBatch: 4, seed: 2, epochs: 2 }, 10).totalSteps, 6);
});
