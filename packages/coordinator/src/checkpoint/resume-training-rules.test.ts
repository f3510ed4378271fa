import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SILENT_LOG, type JobConfig } from '@tfjs-ddp/protocol';
import { prepareJob } from '../coordinator-start.js';
import { findResumePoint } from './job-checkpoints.js';
import { CONFIG, sampleCheckpoint, tempRunDir } from './test-fixtures.js';
import { writeCheckpoint } from './write-checkpoint.js';

/**
 * The training rules (learning-rate schedule, weight decay, clipping) are part of a job:
 * a checkpoint of a run without them (the fixture's config, written before they existed)
 * resumes with every rule at its default (left out of the config, as the CLI leaves it),
 * and a checkpoint is refused by a job whose rules differ, a cosine horizon included.
 */
async function resumes(t: { after: (f: () => Promise<void>) => void }, stored: JobConfig, wanted: JobConfig): Promise<string | undefined> {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  await writeCheckpoint(runDir, { ...sampleCheckpoint(7), config: stored });
  try {
    const found = await findResumePoint(runDir, wanted, false, SILENT_LOG);
    assert.deepEqual(found?.config, stored, 'the rules come back from the checkpoint as written');
    return undefined;
  } catch (error) {
    assert.equal((error as { code?: unknown }).code, 'COORD_ERR_BAD_OPTION');
    return (error as Error).message;
  }
}

const RULES: JobConfig = { ...CONFIG, lrSchedule: 'cosine', lrWarmupSteps: 10, lrDecaySteps: 400, lrReferenceBatch: 256, weightDecay: 5e-4, clipNorm: 1 };

test('an older checkpoint (no rule fields) resumes in a job at the defaults; one with rules resumes with the same rules', async (t) => {
  assert.equal(await resumes(t, CONFIG, { ...CONFIG }), undefined);
  assert.equal(await resumes(t, RULES, { ...RULES }), undefined);
  // Epochs stay free where the horizon is stored (it was filled in, or given, when the job began).
  assert.equal(await resumes(t, RULES, { ...RULES, epochs: 5 }), undefined);
});

test('a checkpoint is refused by a job whose learning-rate schedule, weight decay or clipping differ', async (t) => {
  const differing: [JobConfig, JobConfig, RegExp][] = [
    [CONFIG, { ...CONFIG, weightDecay: 1e-4 }, /weightDecay is unset there, 0.0001 here/],
    [CONFIG, { ...CONFIG, clipNorm: 1 }, /clipNorm/],
    [CONFIG, { ...CONFIG, lrSchedule: 'step', lrStepEvery: 10 }, /lrSchedule|lrStepEvery/],
    [RULES, { ...RULES, weightDecay: 1e-3 }, /weightDecay is 0.0005 there, 0.001 here/],
    [RULES, { ...RULES, lrDecaySteps: 800 }, /lrDecaySteps is 400 there, 800 here/],
    [RULES, { ...RULES, lrWarmupSteps: 0 }, /lrWarmupSteps/],
    [RULES, { ...RULES, lrReferenceBatch: 128 }, /lrReferenceBatch/],
    [RULES, CONFIG, /clipNorm is 1 there, unset here/],
  ];
  for (const [stored, wanted, message] of differing) {
    const refused = await resumes(t, stored, wanted);
    t.diagnostic(refused ?? 'resumed');
    assert.match(refused ?? 'resumed', message);
  }
});

test("a cosine schedule over the run's total steps: the coordinator stores its horizon, so other epochs are refused and the same resume", async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  // synthetic: 2048 training samples, 32 steps of 64 per epoch.
  const job: JobConfig = { ...CONFIG, dataset: 'synthetic', lrSchedule: 'cosine', lrWarmupSteps: 4 };
  const first = await prepareJob({ token: 't', workers: 1, config: job, outDir: runDir });
  assert.equal(first.config.lrDecaySteps, 64, "the horizon is the run's 2 epochs x 32 steps");
  await writeCheckpoint(runDir, { ...sampleCheckpoint(7), config: first.config });
  const same = await prepareJob({ token: 't', workers: 1, config: job, outDir: runDir, resume: runDir });
  assert.equal(same.resumeFrom?.step, 7);
  await assert.rejects(prepareJob({ token: 't', workers: 1, config: { ...job, epochs: 3 }, outDir: runDir, resume: runDir }), {
    code: 'COORD_ERR_BAD_OPTION',
    message: /lrDecaySteps is 64 there, 96 here/,
  });
  // Given explicitly, the horizon does not move with the epochs: more epochs resume.
  const fixed = { ...job, lrDecaySteps: 64 };
  const longer = await prepareJob({ token: 't', workers: 1, config: { ...fixed, epochs: 3 }, outDir: runDir, resume: runDir });
  assert.equal(longer.resumeFrom?.step, 7);
});

test('the loss is part of the job: an older checkpoint resumes at the default, another loss is refused', async (t) => {
  assert.equal(await resumes(t, CONFIG, { ...CONFIG }), undefined, 'no loss field on either side');
  assert.equal(await resumes(t, { ...CONFIG, loss: 'binary-crossentropy' }, { ...CONFIG, loss: 'binary-crossentropy' }), undefined);
  assert.match((await resumes(t, CONFIG, { ...CONFIG, loss: 'mean-squared-error' })) ?? 'resumed', /loss is unset there, "mean-squared-error" here/);
  assert.match((await resumes(t, { ...CONFIG, loss: 'binary-crossentropy' }, CONFIG)) ?? 'resumed', /loss is "binary-crossentropy" there, unset here/);
});
