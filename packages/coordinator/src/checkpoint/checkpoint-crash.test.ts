import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { checkpointsDir, listCheckpoints } from './checkpoint-folders.js';
import { readCheckpoint, readLatestCheckpoint } from './read-checkpoint.js';
import { tempRunDir } from './test-fixtures.js';

/**
 * A writer process killed (SIGKILL) at arbitrary moments, again and again on one run
 * folder: every step folder left must verify, so resuming never needs a fallback. This
 * exercises the rename protocol; a power cut (what the fsyncs are for) is not simulated.
 */

const FLOATS = 1 << 21; // 8 MiB of state, so a kill lands inside a write often
const writer = (runDir: string): string => `
  import { writeCheckpoint } from ${JSON.stringify(new URL('./write-checkpoint.js', import.meta.url).href)};
  import { listCheckpoints } from ${JSON.stringify(new URL('./checkpoint-folders.js', import.meta.url).href)};
  import { sampleCheckpoint } from ${JSON.stringify(new URL('./test-fixtures.js', import.meta.url).href)};
  const runDir = ${JSON.stringify(runDir)};
  const start = ((await listCheckpoints(runDir))[0]?.step ?? 0) + 1;
  for (let step = start; ; step++) {
    const { stateLayout, ...checkpoint } = sampleCheckpoint(step);
    await writeCheckpoint(runDir, { ...checkpoint, state: new Float32Array(${FLOATS}).fill(step) }, { keep: 2 });
    process.stdout.write(step + '\\n');
  }
`;

async function runAndKill(runDir: string, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', writer(runDir)], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Count from the first finished write, so every round kills a process in the middle of writing.
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited (${String(code)}) before its first checkpoint`)));
  });
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

test('a writer killed at any moment leaves only checkpoints that verify', async (t) => {
  const { runDir, cleanup } = await tempRunDir();
  t.after(cleanup);
  for (const afterMs of [0, 7, 23, 41, 90]) {
    await runAndKill(runDir, afterMs);
    const entries = await listCheckpoints(runDir);
    assert.ok(entries.length >= 1);
    for (const entry of entries) {
      assert.ok(entry.complete, `${entry.dir} has no checksum file`);
      const checkpoint = await readCheckpoint(entry.dir);
      assert.equal(checkpoint.state[FLOATS - 1], entry.step, 'the state is the one written for that step');
    }
    const { checkpoint, skipped } = await readLatestCheckpoint(runDir);
    assert.equal(checkpoint.step, entries[0]?.step);
    assert.deepEqual(skipped, []);
  }
  // Debris of the last kill is left for the next write to clean; it never looks like a checkpoint.
  for (const name of await readdir(checkpointsDir(runDir))) assert.match(name, /^(step-\d{6}|\.tmp-step-\d{6}-.*|\.old-step-\d{6}-.*)$/);
});
