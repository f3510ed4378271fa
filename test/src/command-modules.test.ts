import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { freePort, waitForHealth } from './harness/cli-job.js';
import { importChain, MODULE_LOG_ENV, MODULE_LOG_PRELOAD, readModuleLog, type LoadedModule } from './harness/module-log-read.js';
import { CLI, startCli, type RunningProcess } from './harness/processes.js';

/**
 * Each `tfjs-ddp` command loads only the packages it runs (issue 16): the coordinator
 * never loads tfjs, a worker never loads the coordinator's metrics (prom-client). Every
 * module a real CLI process loads, in every thread, is recorded by a preload
 * (harness/module-log.ts) into a file; each test first checks that the file holds the
 * modules it must hold, so an empty or partial list cannot pass.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'command-modules-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'test-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

const JOB = ['--model', 'mlp', '--dataset', 'synthetic', '--global-batch', '16', '--max-steps', '2', '--epochs', '1'];

function startRecorded(args: string[], logFile: string): RunningProcess {
  const child = startCli(args, { command: [process.execPath, '--import', MODULE_LOG_PRELOAD, CLI], env: { [MODULE_LOG_ENV]: logFile }, timeoutMs: 120_000 });
  running.push(child);
  return child;
}

function coordinatorArgs(port: number, out: string): string[] {
  return ['coordinator', '--port', String(port), '--host', '127.0.0.1', '--workers', '1', '--token-file', tokenFile, '--out', out, '--no-progress', ...JOB];
}

function loaded(modules: readonly LoadedModule[], part: string): LoadedModule[] {
  return modules.filter((m) => m.url.includes(part));
}

/** Fails naming each forbidden module and the chain of imports that brought it in. */
function assertNotLoaded(modules: readonly LoadedModule[], part: string, who: string): void {
  const found = [...new Set(loaded(modules, part).map((m) => m.url))];
  const chains = found.slice(0, 3).map((url) => `  ${importChain(modules, url)}`);
  assert.equal(found.length, 0, `${who} loaded ${found.length} module(s) under ${part}, e.g.:\n${chains.join('\n')}`);
}

test('tfjs-ddp coordinator waiting for its workers has loaded no @tensorflow module', async () => {
  const port = await freePort();
  const logFile = path.join(dir, 'coordinator-modules.jsonl');
  const coordinator = startRecorded(coordinatorArgs(port, path.join(dir, 'alone')), logFile);
  try {
    await waitForHealth(port);
  } finally {
    coordinator.kill('SIGTERM');
  }
  await coordinator.exited;
  const modules = readModuleLog(logFile);
  // The list is the coordinator's own: its package and its metrics were recorded.
  assert.ok(loaded(modules, '/packages/coordinator/dist/').length > 0, `no coordinator module recorded:\n${coordinator.output()}`);
  assert.ok(loaded(modules, '/node_modules/prom-client/').length > 0, 'the CommonJS prom-client was not recorded');
  assertNotLoaded(modules, '/node_modules/@tensorflow/', 'tfjs-ddp coordinator');
});

test('a tfjs-ddp worker process (main thread and rank threads) loads no prom-client', async () => {
  const port = await freePort();
  const coordinator = startCli(coordinatorArgs(port, path.join(dir, 'job')), { timeoutMs: 120_000 });
  running.push(coordinator);
  await waitForHealth(port);
  const logFile = path.join(dir, 'worker-modules.jsonl');
  const workerArgs = ['--coordinator', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--threads', '1', '--backend', 'wasm'];
  const worker = startRecorded(['worker', ...workerArgs, '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1'], logFile);
  const codes = await Promise.all([coordinator.exited, worker.exited]);
  assert.deepEqual(codes, [0, 0], `the job did not finish:\n--- coordinator ---\n${coordinator.output()}\n--- worker ---\n${worker.output()}`);
  const modules = readModuleLog(logFile);
  // The list covers the worker package and its rank thread (the only thread that loads tfjs).
  assert.ok(loaded(modules, '/packages/worker/dist/').length > 0, 'no worker module recorded');
  assert.ok(loaded(modules, '/rank-thread.js').length > 0, 'the rank thread was not recorded');
  assert.ok(loaded(modules, '/node_modules/@tensorflow/').length > 0, "the rank thread's tfjs was not recorded");
  assertNotLoaded(modules, '/node_modules/prom-client/', 'tfjs-ddp worker');
});

test('tfjs-ddp train --procs: the launching process (its coordinator) loads no @tensorflow module, only its rank processes do', async () => {
  const logFile = path.join(dir, 'train-procs-modules.jsonl');
  // The rank processes get no TFJS_DDP_MODULE_LOG (train passes no TFJS_DDP_* setting on): the file is the launcher's.
  const train = startRecorded(['train', '--procs', '1', '--out', path.join(dir, 'train-procs'), '--no-progress', ...JOB], logFile);
  assert.equal(await train.exited, 0, train.output());
  const modules = readModuleLog(logFile);
  assert.ok(loaded(modules, '/packages/coordinator/dist/').length > 0, 'no coordinator module recorded');
  assert.ok(loaded(modules, '/packages/worker/dist/rank-processes.js').length > 0, 'the launcher module was not recorded');
  assertNotLoaded(modules, '/node_modules/@tensorflow/', 'tfjs-ddp train --procs');
});
