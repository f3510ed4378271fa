import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'cli-test-'));

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help explains every train flag with its default', () => {
  const top = cli(['--help']);
  assert.equal(top.status, 0);
  assert.match(top.stdout, /train \[options\]/);
  const help = cli(['train', '--help']);
  assert.equal(help.status, 0);
  for (const flag of ['--model', '--dataset', '--epochs', '--global-batch', '--lr', '--optimizer', '--seed', '--backend', '--out', '--bn-placement', '--dropout', '--checkpoint-every', '--keep-checkpoints', '--resume', '--resume-fallback']) {
    assert.ok(help.stdout.includes(flag), `help mentions ${flag}`);
  }
  assert.match(help.stdout, /--epochs <n>[\s\S]*?default: 8/);
  assert.match(help.stdout, /--optimizer <name>[\s\S]*?sgd, momentum, adam/);
});

test('--version prints the package version and the protocol version, exit 0', () => {
  const manifest = JSON.parse(readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')) as { version: string };
  const r = cli(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), new RegExp(`^${manifest.version.replace(/\./g, '\\.')} \\(protocol v\\d+\\)$`));
});

test('bad flags: one-line error naming the flag and the allowed values, exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--optimizer', 'rmsprop'], /--optimizer <name>' argument 'rmsprop' is invalid\. allowed: sgd, momentum, adam/],
    [['train', '--epochs', '0'], /--epochs <n>' argument '0' is invalid\. expected a positive integer/],
    [['train', '--backend', 'tpu'], /--backend <name>' argument 'tpu' is invalid\. allowed: auto, node-gpu, node, wasm, cpu/],
    [['train', '--dropout', '1'], /--dropout <rate>' argument '1' is invalid/],
    [['train', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['train', '--bn', 'sync:x'], /--bn <mode>' argument 'sync:x' is invalid\. allowed: local \| sync \| sync:K/],
    [['train', '--threads', '-1'], /--threads <n>' argument '-1' is invalid/],
    [['train', '--procs', '0'], /--procs <n>' argument '0' is invalid/],
    [['train', '--procs', '2', '--threads', '2'], /--procs and --threads: with --procs every rank is a process of its own/],
    [['train', '--procs', '2', '--save-best'], /--early-stop and --save-best do not work with --procs yet/],
    [['worker', '--coordinator', 'ws://127.0.0.1:1', '--procs', '2', '--threads', '2'], /--procs and --threads/],
  ];
  for (const [args, message] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')} exits 2`);
    assert.match(r.stderr, message);
  }
  const fromEnv = cli(['train'], { TFJS_DDP_GLOBAL_BATCH: 'many' });
  assert.equal(fromEnv.status, 2);
  assert.match(fromEnv.stderr, /--global-batch <n>' value 'many' from env 'TFJS_DDP_GLOBAL_BATCH' is invalid/);
  const threadsFromEnv = cli(['train', '--procs', '2'], { TFJS_DDP_THREADS: '3' });
  assert.equal(threadsFromEnv.status, 2, threadsFromEnv.stderr);
  assert.match(threadsFromEnv.stderr, /--procs and --threads/);
});

test('train runs a short real job, logs JSON lines when not a TTY, and saves the model', () => {
  const out = path.join(dir, 'run');
  const r = cli(['train', '--model', 'mlp', '--dataset', 'synthetic', '--max-steps', '6', '--global-batch', '32', '--out', out, '--backend', 'wasm']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l['backend'] === 'wasm'), 'logs the backend choice');
  assert.ok(lines.some((l) => typeof l['samplesPerSec'] === 'number' && typeof l['etaSec'] === 'number'), 'logs progress');
  const done = lines.at(-1);
  assert.equal(typeof done?.['testAccuracy'], 'number');
  assert.ok(existsSync(path.join(out, 'model.json')) && existsSync(path.join(out, 'weights.bin')));
});

test('a job that fails exits 1 with a message and the error code', () => {
  const r = cli(['train', '--model', path.join(dir, 'missing.mjs'), '--dataset', 'synthetic']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /tfjs-ddp: rank \d+: model ".*missing\.mjs" is neither a zoo model .* \[TRAINER_ERR_MODEL_FILE\]$/m);
});

test('bench runs a benchmark of bench/ with its own flags and prints its JSON lines', () => {
  const r = cli(['bench', 'allreduce', '--ranks', '2', '--sizes', '4KB', '--transport', 'threads', '--iters', '20']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { transport: string; ranks: number; bytes: number; p50_ms: number });
  assert.ok(lines.length > 0 && lines.every((l) => l.transport === 'threads' && l.ranks === 2 && l.bytes === 4096 && l.p50_ms > 0), r.stdout);
  const unknown = cli(['bench', 'nosuch']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /value 'nosuch' is invalid for argument 'name'\. Allowed choices are compute, allreduce, scaling, multiprocess/);
});
