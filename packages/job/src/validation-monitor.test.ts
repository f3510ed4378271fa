import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationMonitor } from './validation-monitor.js';

const at = (loss: number, accuracy = 0): { loss: number; accuracy: number; count: number } => ({ loss, accuracy, count: 10 });

test('the loss improves when it falls by more than minDelta; patience epochs without improvement stop the run', () => {
  const monitor = new ValidationMonitor({ patience: 2, minDelta: 0.01 });
  const judged = [1, 0.8, 0.795, 0.9, 0.7, 0.71, 0.705].map((loss, epoch) => monitor.judge(epoch, at(loss)));
  assert.deepEqual(judged.map((j) => j.improved), [true, true, false, false, true, false, false]);
  assert.deepEqual(judged.map((j) => j.stop), [false, false, false, true, false, false, true]);
  assert.deepEqual(monitor.best, { epoch: 4, value: 0.7 });
});

test('accuracy counts upwards, a NaN loss never improves, and without patience nothing stops', () => {
  const accuracy = new ValidationMonitor({ metric: 'accuracy', patience: 1 });
  assert.equal(accuracy.judge(0, at(9, 0.5)).improved, true);
  assert.deepEqual(accuracy.judge(1, at(0.1, 0.4)), { improved: false, stop: true });
  const loss = new ValidationMonitor();
  assert.equal(loss.judge(0, at(Number.NaN)).improved, false);
  assert.equal(loss.judge(1, at(3)).improved, true);
  for (let epoch = 2; epoch < 50; epoch++) assert.equal(loss.judge(epoch, at(4)).stop, false);
});

test('bad options are refused with the option named', () => {
  assert.throws(() => new ValidationMonitor({ patience: 0 }), { code: 'JOB_ERR_BAD_OPTION', message: /patience/ });
  assert.throws(() => new ValidationMonitor({ minDelta: -1 }), { code: 'JOB_ERR_BAD_OPTION', message: /minDelta/ });
  assert.throws(() => new ValidationMonitor({ metric: 'f1' as 'loss' }), { code: 'JOB_ERR_BAD_OPTION', message: /metric/ });
});
