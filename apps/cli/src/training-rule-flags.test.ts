import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addJobOptions, jobConfigFrom, type JobFlags } from './job-flags.js';

function parse(args: string[], env: Record<string, string> = {}): { config: ReturnType<typeof jobConfigFrom>; error?: string } {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let error: string | undefined;
  let config: ReturnType<typeof jobConfigFrom> | undefined;
  const command = addJobOptions(new Command('train'), 'runs/x')
    .exitOverride()
    .configureOutput({ writeErr: (s) => (error = s.trim()) })
    .action((flags: JobFlags) => {
      config = jobConfigFrom(flags);
    });
  try {
    command.parse(args, { from: 'user' });
  } catch (e) {
    error ??= (e as Error).message;
  } finally {
    process.env = saved;
  }
  return { config: config as ReturnType<typeof jobConfigFrom>, ...(error === undefined ? {} : { error }) };
}

test('without the training-rule flags the job config has none of their fields (older checkpoints resume)', () => {
  const { config } = parse([]);
  for (const key of ['lrSchedule', 'lrWarmupSteps', 'lrStepEvery', 'lrStepFactor', 'lrMin', 'lrDecaySteps', 'lrReferenceBatch', 'weightDecay', 'clipNorm']) {
    assert.ok(!(key in config), `${key} is set by default`);
  }
});

test('the training-rule flags and their TFJS_DDP_* variables reach the job config', () => {
  const args = ['--lr-schedule', 'cosine', '--lr-warmup', '5', '--lr-min', '0.0001', '--lr-decay-steps', '90', '--lr-reference-batch', '256'];
  const { config } = parse([...args, '--weight-decay', '0.0005', '--clip-norm', '2']);
  assert.deepEqual(
    [config.lrSchedule, config.lrWarmupSteps, config.lrMin, config.lrDecaySteps, config.lrReferenceBatch, config.weightDecay, config.clipNorm],
    ['cosine', 5, 0.0001, 90, 256, 0.0005, 2],
  );
  const stepped = parse([], { TFJS_DDP_LR_SCHEDULE: 'step', TFJS_DDP_LR_STEP_EVERY: '30', TFJS_DDP_LR_STEP_FACTOR: '0.5' }).config;
  assert.deepEqual([stepped.lrSchedule, stepped.lrStepEvery, stepped.lrStepFactor], ['step', 30, 0.5]);
});

test('bad training-rule values are refused with the flag named', () => {
  assert.match(parse(['--lr-schedule', 'step']).error ?? '', /--lr-step-every/);
  assert.match(parse(['--lr-schedule', 'linear']).error ?? '', /--lr-schedule/);
  assert.match(parse(['--weight-decay', '2']).error ?? '', /--weight-decay/);
  assert.match(parse(['--lr-step-factor', '0']).error ?? '', /--lr-step-factor/);
  assert.match(parse(['--clip-norm', '0']).error ?? '', /--clip-norm/);
});

test('--loss / TFJS_DDP_LOSS reach the job config; the default is left out (older checkpoints resume); unknown names are refused', () => {
  assert.ok(!('loss' in parse([]).config), 'loss is set by default');
  assert.ok(!('loss' in parse(['--loss', 'categorical-crossentropy']).config), 'the default given is still left out');
  assert.equal(parse(['--loss', 'binary-crossentropy']).config.loss, 'binary-crossentropy');
  assert.equal(parse([], { TFJS_DDP_LOSS: 'mean-squared-error' }).config.loss, 'mean-squared-error');
  assert.match(parse(['--loss', 'sparse-categorical-crossentropy']).error ?? '', /--loss/);
});
