import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { checkpointsDir } from './checkpoint-folders.js';
import { CHECKPOINT_JSON, CHECKSUM_FILE, MODEL_JSON, STATE_BIN, WEIGHTS_BIN } from './checkpoint-types.js';
import type { CheckpointError } from './errors.js';
import { readCheckpoint, readLatestCheckpoint } from './read-checkpoint.js';
import { flipByte, rewriteWithChecksum, sampleCheckpoint, tempRunDir } from './test-fixtures.js';
import { writeCheckpoint } from './write-checkpoint.js';

async function twoCheckpoints(): Promise<{ runDir: string; older: string; newer: string; cleanup: () => Promise<void> }> {
  const { runDir, cleanup } = await tempRunDir();
  const older = (await writeCheckpoint(runDir, sampleCheckpoint(100))).dir;
  const newer = (await writeCheckpoint(runDir, sampleCheckpoint(200))).dir;
  return { runDir, older, newer, cleanup };
}

/** Rejects with `code`, and the error names the folder and `file`. */
async function refused(promise: Promise<unknown>, code: string, dir: string, file: string): Promise<CheckpointError> {
  let caught: unknown;
  await assert.rejects(promise, (err: CheckpointError) => {
    caught = err;
    return err.code === code;
  });
  const err = caught as CheckpointError;
  assert.equal(err.name, 'CheckpointError');
  assert.equal(err.dir, dir);
  assert.equal(err.file, file);
  assert.ok(err.message.includes(dir) && err.message.includes(file), err.message);
  return err;
}

for (const file of [MODEL_JSON, WEIGHTS_BIN, STATE_BIN, CHECKPOINT_JSON]) {
  test(`one flipped byte in ${file} of the newest checkpoint: refused by name, or the previous one with fallback`, async (t) => {
    const { runDir, older, newer, cleanup } = await twoCheckpoints();
    t.after(cleanup);
    await flipByte(path.join(newer, file));
    const err = await refused(readLatestCheckpoint(runDir), 'CHECKPOINT_ERR_CORRUPT', newer, file);
    assert.match(err.message, /failed its checksum/);
    const { checkpoint, skipped } = await readLatestCheckpoint(runDir, { fallback: true });
    assert.equal(checkpoint.dir, older);
    assert.deepEqual(checkpoint.state, sampleCheckpoint(100).state);
    assert.deepEqual(skipped.map((s) => [s.step, s.unfinished, s.reason.code, s.reason.file]), [[200, false, 'CHECKPOINT_ERR_CORRUPT', file]]);
  });
}

test('a damaged checksum file is refused too', async (t) => {
  const { runDir, older, newer, cleanup } = await twoCheckpoints();
  t.after(cleanup);
  // The middle of the file falls inside a hash: the file of that line fails its checksum.
  await flipByte(path.join(newer, CHECKSUM_FILE));
  await assert.rejects(readLatestCheckpoint(runDir), { code: 'CHECKPOINT_ERR_CORRUPT', dir: newer });
  // A truncated one (a line cut short) and one listing a stranger are named as such.
  const sums = await readFile(path.join(newer, CHECKSUM_FILE), 'utf8');
  await writeFile(path.join(newer, CHECKSUM_FILE), sums.slice(0, -10));
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, CHECKSUM_FILE);
  await writeFile(path.join(newer, CHECKSUM_FILE), `${sums}${'0'.repeat(64)}  extra.bin\n`);
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, CHECKSUM_FILE);
  await writeFile(path.join(newer, CHECKSUM_FILE), sums.split('\n').slice(1).join('\n'));
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, CHECKSUM_FILE);
  assert.equal((await readLatestCheckpoint(runDir, { fallback: true })).checkpoint.dir, older);
});

test('a file missing from a finished checkpoint is refused by name', async (t) => {
  const { runDir, newer, cleanup } = await twoCheckpoints();
  t.after(cleanup);
  await rm(path.join(newer, STATE_BIN));
  await refused(readLatestCheckpoint(runDir), 'CHECKPOINT_ERR_CORRUPT', newer, STATE_BIN);
});

test('a crash leaves a temp folder or a step folder without its checksum file: both ignored, then cleaned', async (t) => {
  const { runDir, newer, cleanup } = await twoCheckpoints();
  t.after(cleanup);
  const parent = checkpointsDir(runDir);
  // A write killed midway: some files in the temp folder, never renamed.
  const temp = path.join(parent, '.tmp-step-000300-999-abcdef');
  await mkdir(temp);
  await writeFile(path.join(temp, WEIGHTS_BIN), new Uint8Array(7));
  // A step folder without its checksum file (as a writer that renames file by file could leave it).
  const unfinished = path.join(parent, 'step-000400');
  await mkdir(unfinished);
  await writeFile(path.join(unfinished, MODEL_JSON), '{}');
  const { checkpoint, skipped } = await readLatestCheckpoint(runDir);
  assert.equal(checkpoint.dir, newer, 'no fallback needed: neither was ever a finished checkpoint');
  assert.deepEqual(skipped.map((s) => [s.step, s.unfinished, s.reason.file]), [[400, true, CHECKSUM_FILE]]);
  // The next write cleans both up.
  await writeCheckpoint(runDir, sampleCheckpoint(300));
  assert.deepEqual((await readdir(parent)).sort(), ['step-000100', 'step-000200', 'step-000300']);
});

test('sizes that disagree with checkpoint.json are refused even when the checksums agree', async (t) => {
  const { runDir, newer, cleanup } = await twoCheckpoints();
  t.after(cleanup);
  const info = JSON.parse(await readFile(path.join(newer, CHECKPOINT_JSON), 'utf8')) as { files: Record<string, number>; stateLength: number };
  const original = JSON.stringify(info);
  info.files[WEIGHTS_BIN] = (info.files[WEIGHTS_BIN] as number) + 4;
  await rewriteWithChecksum(newer, CHECKPOINT_JSON, JSON.stringify(info));
  await refused(readLatestCheckpoint(runDir), 'CHECKPOINT_ERR_CORRUPT', newer, WEIGHTS_BIN);

  const shortState = { ...JSON.parse(original), stateLength: info.stateLength - 1 } as object;
  await rewriteWithChecksum(newer, CHECKPOINT_JSON, JSON.stringify(shortState));
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, STATE_BIN);

  // weights.bin and checkpoint.json agree, but the model's manifest wants 32 bytes.
  await rewriteWithChecksum(newer, WEIGHTS_BIN, new Uint8Array(28));
  const shortWeights = JSON.parse(original) as { files: Record<string, number> };
  shortWeights.files[WEIGHTS_BIN] = 28;
  await rewriteWithChecksum(newer, CHECKPOINT_JSON, JSON.stringify(shortWeights));
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, MODEL_JSON);

  const badLayout = JSON.parse(original) as { stateLayout: { name: string; shape: number[] }[] };
  badLayout.stateLayout.pop();
  await rewriteWithChecksum(newer, WEIGHTS_BIN, sampleCheckpoint(200).weights);
  await rewriteWithChecksum(newer, CHECKPOINT_JSON, JSON.stringify(badLayout));
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, CHECKPOINT_JSON);

  await rewriteWithChecksum(newer, CHECKPOINT_JSON, original);
  assert.equal((await readCheckpoint(newer)).step, 200, 'the original is accepted again: the refusals were for the edits');
});

test('malformed checkpoint.json, a newer format version, a folder renamed to another step', async (t) => {
  const { newer, runDir, cleanup } = await twoCheckpoints();
  t.after(cleanup);
  const original = await readFile(path.join(newer, CHECKPOINT_JSON), 'utf8');
  await rewriteWithChecksum(newer, CHECKPOINT_JSON, '{"formatVersion": 1');
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, CHECKPOINT_JSON);
  await rewriteWithChecksum(newer, CHECKPOINT_JSON, original.replace('"globalBatch": 64', '"globalBatch": "64"'));
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_CORRUPT', newer, CHECKPOINT_JSON);
  await rewriteWithChecksum(newer, CHECKPOINT_JSON, original.replace('"formatVersion": 1', '"formatVersion": 2'));
  await refused(readCheckpoint(newer), 'CHECKPOINT_ERR_VERSION', newer, CHECKPOINT_JSON);

  await rewriteWithChecksum(newer, CHECKPOINT_JSON, original);
  const renamed = path.join(checkpointsDir(runDir), 'step-000900');
  await rename(newer, renamed);
  await refused(readLatestCheckpoint(runDir), 'CHECKPOINT_ERR_CORRUPT', renamed, CHECKPOINT_JSON);
});

test('no checkpoint at all, or none that passes: errors naming the folder looked in', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  const where = checkpointsDir(runDir);
  await assert.rejects(readLatestCheckpoint(runDir), (err: CheckpointError) => err.code === 'CHECKPOINT_ERR_NONE' && err.dir === where && err.message.includes(where));
  await mkdir(path.join(where, '.tmp-step-000001-1-aa'), { recursive: true });
  await assert.rejects(readLatestCheckpoint(runDir, { fallback: true }), { code: 'CHECKPOINT_ERR_NONE' });

  const only = (await writeCheckpoint(runDir, sampleCheckpoint(1))).dir;
  await flipByte(path.join(only, STATE_BIN));
  await assert.rejects(readLatestCheckpoint(runDir, { fallback: true }), (err: CheckpointError) => err.code === 'CHECKPOINT_ERR_CORRUPT' && err.dir === where && err.message.includes(STATE_BIN));
});
