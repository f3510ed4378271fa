import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RankProcesses, type RankProcessesOptions } from './rank-processes.js';

/** A rank process stand-in: node running `script` (it has the launcher's IPC channel, like a worker). */
function node(script: string): string[] {
  return [process.execPath, '-e', script];
}

const FOREVER = 'setInterval(() => undefined, 1000)';
const launched: RankProcesses[] = [];
// A test that fails midway must not leave its processes (nor this file's run) behind.
after(() => Promise.all(launched.map((r) => r.close())));

function launch(options: RankProcessesOptions): RankProcesses {
  const ranks = new RankProcesses(options);
  launched.push(ranks);
  return ranks;
}

function alive(pid: number | undefined): boolean {
  try {
    process.kill(pid as number, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

test('process i starts pinned to device i with launch index i; all exiting 0 is the end of the job', { timeout: 10_000 }, async () => {
  const check = 'const e = process.env; process.exit(e.CUDA_VISIBLE_DEVICES === e.TFJS_DDP_LAUNCH_INDEX && e.TFJS_DDP_GPU_INDEX === e.TFJS_DDP_LAUNCH_INDEX ? 0 : 9)';
  const ranks = launch({ command: node(check), count: 3, env: {} });
  await Promise.race([ranks.allExited, ranks.failed]);
  await ranks.waitForExit(1_000);
});

test('a process that exits non-zero fails the launch, naming it; close() stops the others', { timeout: 10_000 }, async () => {
  const ranks = launch({ command: (i) => node(i === 1 ? 'process.exit(3)' : FOREVER), count: 2, env: {} });
  await assert.rejects(ranks.failed, { code: 'WORKER_ERR_RANK_EXITED', message: /^rank process 1 \(pid \d+, CUDA_VISIBLE_DEVICES=1 TFJS_DDP_GPU_INDEX=1\) exited with code 3$/ });
  await ranks.close();
  await ranks.allExited;
});

test('after one process ends the job (exit 0), one that lingers past the grace is a failure', { timeout: 10_000 }, async () => {
  const ranks = launch({ command: (i) => node(i === 0 ? 'process.exit(0)' : FOREVER), count: 2, env: {}, finishGraceMs: 300 });
  await assert.rejects(ranks.failed, { code: 'WORKER_ERR_RANK_EXITED', message: /rank process\(es\) 1 \(pid \d+\) still running 0 s after another ended the job/ });
  await ranks.close();
});

test('close() ends a process that ignores SIGTERM with SIGKILL after the grace', { timeout: 10_000 }, async () => {
  let pid: number | undefined;
  const ranks = launch({
    command: node(`process.on('SIGTERM', () => undefined); ${FOREVER}`),
    count: 1,
    env: {},
    killGraceMs: 200,
    log: { info: (fields) => (pid = (fields as { pid?: number }).pid), warn: () => undefined, error: () => undefined },
  });
  // Time to install its SIGTERM handler: before that, SIGTERM alone would end it.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await ranks.close();
  assert.equal(alive(pid), false);
});
