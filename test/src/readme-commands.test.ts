import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { encodeNpy } from '@tfjs-ddp/data';
import { freePort, waitForHealth } from './harness/cli-job.js';
import { REPO } from './harness/dockerfile.js';

/**
 * The README's `tfjs-ddp ...` command lines, run as written: every fenced code block is read
 * from README.md (nothing is copied here), and each line that starts with `tfjs-ddp` runs
 * through bash with node_modules/.bin on PATH, i.e. the bin that `npm ci` links. What
 * differs from a user's run, and why:
 *  - TFJS_DDP_MAX_STEPS=2 in the environment (the CLI reads every flag from TFJS_DDP_*, and
 *    a flag on the line wins): two steps instead of whole epochs, to stay within minutes;
 *  - each block runs in a fresh temporary folder that also holds the files its lines name
 *    (./my-model.mjs, x.npy, y.npy); the other shell lines of the block (the token) run first;
 *  - a block with a coordinator is one job on loopback: `10.0.0.5` (the README's address of
 *    the coordinator's machine) becomes 127.0.0.1, port 7070 a free port, and
 *    TFJS_DDP_HOST / TFJS_DDP_ADVERTISE_HOST / TFJS_DDP_LISTEN_HOST keep every socket on 127.0.0.1;
 *    TFJS_DDP_HEARTBEAT_TIMEOUT=60 and TFJS_DDP_COORDINATOR_TIMEOUT=60: on a busy 2-core
 *    machine a worker loading tfjs in two threads misses the default 3 s / 10 s of
 *    heartbeats (as in harness/cli-job.ts), which is not what this test is about.
 */
const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');
const BIN = path.join(REPO, 'node_modules', '.bin');
const TIMEOUT_MS = 150_000;

/** The lines of every fenced block: indentation removed, `\`-continued lines joined, comments dropped. */
export function fencedBlocks(markdown: string): string[][] {
  const blocks = [...markdown.matchAll(/^( *)```[^\n]*\n([\s\S]*?)^\1```/gm)];
  return blocks.map((m) => {
    const indent = (m[1] as string).length;
    const joined = (m[2] as string).split('\n').map((l) => l.slice(indent)).join('\n').replace(/\\\n\s*/g, '');
    return joined.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '' && !l.startsWith('#'));
  });
}

const BLOCKS = fencedBlocks(README).filter((b) => b.some((l) => l.startsWith('tfjs-ddp ')));

interface Run {
  code: number | null;
  output: string;
}

/** Runs one line in bash; killed after `timeoutMs` so the test has a deadline. */
function runLine(line: string, cwd: string, env: Record<string, string>, timeoutMs = TIMEOUT_MS): { done: Promise<Run>; kill(): void } {
  const fullEnv = { ...process.env, PATH: `${BIN}:${process.env['PATH'] ?? ''}`, ...env };
  const child = spawn('bash', ['-c', line], { cwd, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, output: `$ ${line}\n${output.slice(-4000)}` });
  }));
  return { done, kill: () => child.kill('SIGKILL') };
}

/** The files the README's lines name, made in the block's folder: a model module and a tiny .npy data set. */
function writeNamedFiles(dir: string): void {
  writeFileSync(path.join(dir, 'my-model.mjs'), [
    'export function createModel({ tf, inputShape, numClasses, seed }) {',
    '  const model = tf.sequential();',
    "  model.add(tf.layers.dense({ inputShape, units: numClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));",
    '  return model;',
    '}',
    '',
  ].join('\n'));
  const samples = 64;
  writeFileSync(path.join(dir, 'x.npy'), encodeNpy(Float32Array.from({ length: samples * 8 }, (_, i) => (i % 7) / 7), [samples, 8]));
  writeFileSync(path.join(dir, 'y.npy'), encodeNpy(Int32Array.from({ length: samples }, (_, i) => i % 2), [samples]));
}

const JOB_ENV = { TFJS_DDP_MAX_STEPS: '2', TFJS_DDP_LOG_LEVEL: 'warn' };

/** Runs the block; returns why it cannot run (a setup line's program is not installed), or undefined when it ran. */
async function runBlock(lines: string[]): Promise<string | undefined> {
  const dir = mkdtempSync(path.join(tmpdir(), 'readme-'));
  writeNamedFiles(dir);
  for (const setup of lines.filter((l) => !l.startsWith('tfjs-ddp '))) {
    const r = await runLine(setup, dir, {}, 30_000).done;
    // bash's "command not found": the README's own shell line needs a tool (openssl) this machine lacks.
    const missing = /(\S+): command not found/.exec(r.output)?.[1];
    if (missing !== undefined) return `${missing} not found; install with: apt-get install ${missing}`;
    assert.equal(r.code, 0, r.output);
  }
  const commands = lines.filter((l) => l.startsWith('tfjs-ddp '));
  if (!commands.some((l) => l.startsWith('tfjs-ddp coordinator'))) {
    for (const line of commands) {
      const r = await runLine(line, dir, JOB_ENV).done;
      assert.equal(r.code, 0, r.output);
    }
    return undefined;
  }
  const port = String(await freePort());
  const loopback = (l: string): string => l.replaceAll('10.0.0.5', '127.0.0.1').replace(/\b7070\b/g, port);
  const env = {
    ...JOB_ENV, TFJS_DDP_HOST: '127.0.0.1', TFJS_DDP_ADVERTISE_HOST: '127.0.0.1', TFJS_DDP_LISTEN_HOST: '127.0.0.1',
    TFJS_DDP_HEARTBEAT_TIMEOUT: '60', TFJS_DDP_COORDINATOR_TIMEOUT: '60',
  };
  const isCoordinator = (l: string): boolean => l.startsWith('tfjs-ddp coordinator');
  const [coordinatorLine, ...workerLines] = [...commands.filter(isCoordinator), ...commands.filter((l) => !isCoordinator(l))];
  const coordinator = runLine(loopback(coordinatorLine as string), dir, env);
  const workers: ReturnType<typeof runLine>[] = [];
  try {
    await Promise.race([waitForHealth(Number(port), 60_000), coordinator.done.then((r) => Promise.reject(new Error(`the coordinator exited\n${r.output}`)))]);
    for (const line of workerLines) workers.push(runLine(loopback(line), dir, env));
    // Workers outlive a failed coordinator by their reconnect timeout (120 s): end them at once then, else give them 60 s.
    const ended = await coordinator.done;
    const grace = setTimeout(() => workers.forEach((w) => w.kill()), ended.code === 0 ? 60_000 : 0);
    const runs = [ended, ...(await Promise.all(workers.map((w) => w.done)))];
    clearTimeout(grace);
    assert.deepEqual(runs.map((r) => r.code), runs.map(() => 0), runs.map((r) => r.output).join('\n'));
  } finally {
    [coordinator, ...workers].forEach((p) => p.kill());
  }
  return undefined;
}

test('the README has tfjs-ddp command lines to run', () => {
  assert.ok(BLOCKS.length >= 2, `found ${BLOCKS.length} blocks with tfjs-ddp lines`);
});

for (const [i, block] of BLOCKS.entries()) {
  const name = block.filter((l) => l.startsWith('tfjs-ddp ')).map((l) => l.split(' ').slice(0, 2).join(' ')).join(', ');
  test(`README block ${i + 1} runs as written (${name})`, { timeout: TIMEOUT_MS + 30_000 }, async (t) => {
    const missing = await runBlock(block);
    if (missing !== undefined) t.skip(missing);
  });
}

test('the README\'s way to run tfjs-ddp uses the clone\'s bin and never asks the registry', async () => {
  const usage = /`(np[mx] [^`]*tfjs-ddp)`/.exec(README)?.[1];
  assert.ok(usage !== undefined && /--no-install|--no\b/.test(usage), `the README recommends ${usage ?? 'nothing'}, which may download a package`);
  // npm ci links .bin/tfjs-ddp only when the bin's target exists at install time: the committed shim, not dist/.
  const cli = JSON.parse(readFileSync(path.join(REPO, 'apps/cli/package.json'), 'utf8')) as { bin: Record<string, string> };
  const target = cli.bin['tfjs-ddp'] ?? '';
  assert.ok(!target.startsWith('dist/'), `the bin ${target} is a build output: a fresh clone's npm ci cannot link it`);
  assert.equal(realpathSync(path.join(BIN, 'tfjs-ddp')), realpathSync(path.join(REPO, 'apps/cli', target)));
  // A registry that refuses every connection: a fall-back to it would fail the run.
  const r = await runLine(`${usage} --help`, REPO, { npm_config_registry: 'http://127.0.0.1:9', npm_config_yes: 'false' }, 60_000).done;
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /Usage: tfjs-ddp/);
});
