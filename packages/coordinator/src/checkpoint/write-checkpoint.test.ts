import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { checkpointsDir, listCheckpoints } from './checkpoint-folders.js';
import { CHECKPOINT_JSON, CHECKSUM_FILE, MODEL_JSON, STATE_BIN, WEIGHTS_BIN } from './checkpoint-types.js';
import { readCheckpoint, readLatestCheckpoint } from './read-checkpoint.js';
import { sampleCheckpoint, tempRunDir } from './test-fixtures.js';
import { writeCheckpoint } from './write-checkpoint.js';
import { sha256Hex } from './checksums.js';

test('checkpoint round trip: every byte and field comes back as written', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  const written = sampleCheckpoint(123);
  const { dir } = await writeCheckpoint(runDir, written);
  assert.equal(dir, path.join(runDir, 'checkpoints', 'step-000123'));
  assert.deepEqual((await readdir(dir)).sort(), [CHECKSUM_FILE, CHECKPOINT_JSON, MODEL_JSON, STATE_BIN, WEIGHTS_BIN].sort());
  assert.deepEqual(await readdir(checkpointsDir(runDir)), ['step-000123'], 'no temp folder left behind');

  const { checkpoint: read, skipped } = await readLatestCheckpoint(runDir);
  assert.deepEqual(skipped, []);
  assert.equal(read.dir, dir);
  assert.equal(read.formatVersion, 1);
  assert.ok(!Number.isNaN(Date.parse(read.createdAt)));
  const { dir: _dir, createdAt: _createdAt, formatVersion: _formatVersion, ...fields } = read;
  assert.deepEqual(fields, written);
  // The files on disk are the very bytes given: a plain tfjs model folder plus the raw state.
  assert.deepEqual(new Uint8Array(await readFile(path.join(dir, WEIGHTS_BIN))), written.weights);
  assert.equal(await readFile(path.join(dir, MODEL_JSON), 'utf8'), written.modelJson);
  assert.deepEqual(new Float32Array(new Uint8Array(await readFile(path.join(dir, STATE_BIN))).buffer), written.state);
  // sha256sum format, so `sha256sum -c SHA256SUMS` checks a copied folder by hand.
  const sums = await readFile(path.join(dir, CHECKSUM_FILE), 'utf8');
  assert.match(sums, new RegExp(`^${sha256Hex(written.weights)}  ${WEIGHTS_BIN}$`, 'm'));
  assert.equal(sums.trim().split('\n').length, 4);
});

test('a state that is a view at an odd offset of a larger buffer round-trips', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  const base = sampleCheckpoint(5);
  const backing = new Float32Array(base.state.length + 3);
  backing.set(base.state, 3);
  const checkpoint = { ...base, state: backing.subarray(3) };
  const { dir } = await writeCheckpoint(runDir, checkpoint);
  assert.deepEqual((await readCheckpoint(dir)).state, base.state);
});

test('keeps the newest K complete checkpoints and deletes the rest', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  for (const step of [10, 20, 30]) await writeCheckpoint(runDir, sampleCheckpoint(step), { keep: 2 });
  assert.deepEqual((await listCheckpoints(runDir)).map((e) => e.step), [30, 20]);
  const result = await writeCheckpoint(runDir, sampleCheckpoint(40), { keep: 2 });
  assert.deepEqual(result.removed.map((d) => path.basename(d)), ['step-000020']);
  assert.deepEqual((await listCheckpoints(runDir)).map((e) => e.step), [40, 30]);
  // The default keeps 3.
  for (const step of [50, 60, 70]) await writeCheckpoint(runDir, sampleCheckpoint(step));
  assert.deepEqual((await listCheckpoints(runDir)).map((e) => e.step), [70, 60, 50]);
  assert.deepEqual(await readdir(checkpointsDir(runDir)), ['step-000050', 'step-000060', 'step-000070']);
  // Steps past six digits still sort as numbers.
  await writeCheckpoint(runDir, sampleCheckpoint(1_000_000));
  assert.equal((await readLatestCheckpoint(runDir)).checkpoint.step, 1_000_000);
});

test('writing a step again replaces it; writing an earlier step moves the later ones aside', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  await writeCheckpoint(runDir, sampleCheckpoint(100));
  await writeCheckpoint(runDir, sampleCheckpoint(200));
  await writeCheckpoint(runDir, sampleCheckpoint(200, 7));
  assert.equal((await readLatestCheckpoint(runDir)).checkpoint.state[0], 700.5, 'the second write of step 200 won');
  // A run resumed from step 100 (200 was refused, say) writes 150: 200 must not shadow it.
  const result = await writeCheckpoint(runDir, sampleCheckpoint(150));
  assert.deepEqual(result.superseded.map((d) => path.basename(d).replace(/-\d+-[0-9a-f]+$/, '')), ['superseded-step-000200']);
  assert.equal((await readLatestCheckpoint(runDir)).checkpoint.step, 150);
  assert.deepEqual((await listCheckpoints(runDir)).map((e) => e.step), [150, 100]);
});

test('concurrent writes to one run are queued and all land', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  const results = await Promise.all([1, 2, 3, 4, 5].map((step) => writeCheckpoint(runDir, sampleCheckpoint(step), { keep: 5 })));
  assert.equal(results.length, 5);
  assert.deepEqual((await listCheckpoints(runDir)).map((e) => e.step), [5, 4, 3, 2, 1]);
  for (const entry of await listCheckpoints(runDir)) assert.equal((await readCheckpoint(entry.dir)).step, entry.step);
});

test('a checkpoint that could not be read back is refused before anything is written', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  const good = sampleCheckpoint(10);
  const bad: [string, Parameters<typeof writeCheckpoint>[1], number?][] = [
    ['state shorter than its layout', { ...good, state: good.state.subarray(1) }],
    ['weights.bin shorter than the manifest', { ...good, weights: good.weights.subarray(4) }],
    ['model.json not JSON', { ...good, modelJson: '{"modelTopology":' }],
    ['manifest naming another file', { ...good, modelJson: good.modelJson.replace('./weights.bin', './other.bin') }],
    ['negative step', { ...good, step: -1 }],
    ['fractional sampler position', { ...good, sampler: { ...good.sampler, position: 1.5 } }],
    ['invalid config', { ...good, config: { ...good.config, globalBatch: 0 } }],
    ['meta that is not an object', { ...good, meta: [1, 2] as unknown as Record<string, unknown> }],
    ['keep 0', good, 0],
  ];
  for (const [what, checkpoint, keep] of bad) {
    await assert.rejects(writeCheckpoint(runDir, checkpoint, keep === undefined ? {} : { keep }), { code: 'CHECKPOINT_ERR_BAD_INPUT' }, what);
  }
  assert.deepEqual(await listCheckpoints(runDir), []);
});
