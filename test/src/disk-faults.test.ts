import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CheckpointError, Coordinator, JobMetrics, readLatestCheckpoint, type JobStatus } from '@tfjs-ddp/coordinator';
import type { JobConfig, StructuredLog } from '@tfjs-ddp/protocol';
import { exitsWithin, startCli, type RunningProcess } from './harness/processes.js';
import { mountSmallDisk, unmountSmallDisk } from './harness/small-disk.js';

/**
 * Disk faults are reported, never half-written (DESIGN §8): a real coordinator and a
 * real worker process train while the coordinator's disk fails under them. The faults
 * are real: a tmpfs too small for a checkpoint or the model (ENOSPC in the middle of a
 * file) where mounting is allowed, else a file or folder where the other is needed.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'disk-faults-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'disk-token\n');
const running: RunningProcess[] = [];
const mounts: string[] = [];
after(() => {
  running.forEach((p) => p.kill());
  mounts.forEach(unmountSmallDisk);
  rmSync(dir, { recursive: true, force: true });
});

const config: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd' }, seed: 2, maxSteps: 30 };

interface Logged {
  level: 'info' | 'warn' | 'error';
  msg: string;
}

function recordingLog(): { log: StructuredLog; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: Logged['level']) => (_fields: object, msg: string): void => void lines.push({ level, msg });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

function worker(port: number): RunningProcess {
  const args = ['--token-file', tokenFile, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1'];
  args.push('--backend', 'wasm', '--connect-timeout', '20');
  const p = startCli(['worker', '--coordinator', `ws://127.0.0.1:${port}`, ...args], { timeoutMs: 120_000 });
  running.push(p);
  return p;
}

/** Makes `folder` a place no checkpoint fits: a 4 KiB disk, or (without mount rights) a file. */
function faultyFolder(folder: string): string {
  if (mountSmallDisk(folder, 4096)) {
    mounts.push(folder);
    return 'a 4 KiB tmpfs (ENOSPC mid-write)';
  }
  mkdirSync(path.dirname(folder), { recursive: true });
  writeFileSync(folder, 'not a folder');
  return 'a file in place of the folder';
}

test('checkpoint writes fail and metrics.jsonl is lost mid-run: training completes, /status and /metrics report both, '
  + 'the log says failed, nothing half-written, --resume finds none', async (t) => {
  const outDir = path.join(dir, 'run');
  const fault = faultyFolder(path.join(outDir, 'checkpoints'));
  const { log, lines } = recordingLog();
  const seen: { status?: JobStatus } = {};
  const coordinator: Coordinator = await Coordinator.start({
    port: 0, host: '127.0.0.1', token: 'disk-token', workers: 1, config, outDir, checkpointEvery: 3, waitTimeoutMs: 60_000, log,
    hooks: {
      onStep: (progress) => {
        // After step 4's record is written, the file becomes a folder: every later append fails (EISDIR).
        if (progress.step === 4) {
          rmSync(path.join(outDir, 'metrics.jsonl'));
          mkdirSync(path.join(outDir, 'metrics.jsonl'));
        }
      },
    },
  });
  const w = worker(coordinator.port);
  const run = coordinator.run();
  // What an operator sees over HTTP while the job runs: polled until both faults show (or the job ends).
  let running = true;
  const poller = (async (): Promise<void> => {
    while (running && !(seen.status?.disk !== undefined && seen.status.disk.checkpointFailures >= 1 && seen.status.disk.metricsLost !== null)) {
      // A poll racing the job's end finds the server closed: the assertion below says whether any saw both.
      await fetch(`http://127.0.0.1:${coordinator.port}/status`).then(async (r) => void (seen.status = (await r.json()) as JobStatus)).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const result = await run.finally(() => (running = false));
  await poller;
  assert.equal(result.steps, 30, `the job stopped early (fault: ${fault})`);
  assert.equal(await w.exited, 0, w.output());

  const disk = coordinator.status().disk;
  assert.ok(disk !== undefined);
  // Checkpoints after steps 3, 6, ..., 30 all failed; none was written.
  assert.equal(disk.checkpointFailures, 10, `fault: ${fault}; ${JSON.stringify(disk)}`);
  assert.equal(disk.lastCheckpointStep, 0);
  t.diagnostic(`fault: ${fault}; last checkpoint failure: ${disk.lastCheckpointFailure?.error ?? 'none'}; metrics: ${disk.metricsLost ?? 'kept'}`);
  assert.equal(disk.lastCheckpointFailure?.step, 30);
  assert.match(disk.metricsLost ?? '', /metrics\.jsonl: .*EISDIR/);
  // Steps 1..4 were written; the records of steps 5..30 were not.
  assert.equal(disk.metricsDropped, 26);
  const live = seen.status?.disk;
  assert.ok(live !== undefined && live.checkpointFailures >= 1 && live.metricsLost !== null, `GET /status during the run: ${JSON.stringify(live)}`);

  const metrics = await new JobMetrics(() => coordinator.status(), { processMetrics: false }).metrics();
  assert.match(metrics, /^tfjs_ddp_checkpoint_failures_total 10$/m);
  assert.match(metrics, /^tfjs_ddp_metrics_log_lost 1$/m);

  const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg);
  assert.equal(errors.filter((m) => /^checkpoint after step \d+ FAILED, not written: /.test(m)).length, 10, errors.join('\n'));
  assert.equal(errors.filter((m) => m.startsWith('metrics file not written')).length, 1, 'the lost metrics file is reported once');
  assert.ok(!lines.some((l) => /checkpoint .*(written to|taken)/.test(l.msg)), 'a log line claims a checkpoint was written');

  // Nothing half-written is visible, and a resume finds no checkpoint rather than a broken one.
  const checkpoints = path.join(outDir, 'checkpoints');
  if (mounts.includes(checkpoints)) assert.deepEqual(readdirSync(checkpoints), [], 'a failed write left files behind');
  await assert.rejects(readLatestCheckpoint(outDir), (error: Error & { code?: string }) => {
    assert.ok(error.code === 'CHECKPOINT_ERR_NONE' || (!(error instanceof CheckpointError) && error.code === 'ENOTDIR'), `${error.code}: ${error.message}`);
    return true;
  });
  assert.ok(existsSync(path.join(outDir, 'model.json')) && existsSync(path.join(outDir, 'weights.bin')), 'the final model was written');
});

test('the final model write fails: the job ends with COORD_ERR_MODEL_WRITE naming the cause, and leaves no temp files or half a model', async (t) => {
  const outDir = path.join(dir, 'model-run');
  let fault: string;
  if (mountSmallDisk(outDir, 4096)) {
    mounts.push(outDir);
    fault = 'a 4 KiB tmpfs (ENOSPC mid-write)';
  } else {
    // A folder where weights.bin goes: the rename into place fails (EISDIR).
    mkdirSync(path.join(outDir, 'weights.bin', 'x'), { recursive: true });
    fault = 'a folder in place of weights.bin';
  }
  const { log, lines } = recordingLog();
  const options = { port: 0, host: '127.0.0.1', token: 'disk-token', workers: 1, config: { ...config, maxSteps: 3 }, outDir, waitTimeoutMs: 60_000, log };
  const coordinator = await Coordinator.start(options);
  const w = worker(coordinator.port);
  await assert.rejects(coordinator.run(), (error: Error & { code?: string }) => {
    t.diagnostic(`fault: ${fault}; ${error.message}`);
    assert.equal(error.code, 'COORD_ERR_MODEL_WRITE');
    assert.match(error.message, /all 3 steps trained, but the model could not be saved: the model folder .* was not written: .*(ENOSPC|EISDIR)/);
    return true;
  });
  assert.equal(coordinator.status().job.state, 'failed', `fault: ${fault}`);
  // The worker's part was done (it sent the model): it exits 0, and promptly.
  assert.equal(await exitsWithin(w, 'the worker', Date.now(), 10_000), 0, w.output());
  assert.ok(lines.some((l) => l.level === 'error' && l.msg.includes('the model could not be saved')));
  const left = readdirSync(outDir).filter((n) => n !== 'metrics.jsonl' && n !== 'weights.bin');
  assert.deepEqual(left, [], `debris after the failed model write (fault: ${fault})`);
  assert.ok(!existsSync(path.join(outDir, 'model.json')), 'a model.json is there without its weights');
});
