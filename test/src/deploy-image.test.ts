import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from './harness/cli-job.js';
import { readImageConfig, REPO } from './harness/dockerfile.js';

/**
 * What the CPU image runs, built here without Docker: the image's build stage lays out its
 * runtime with deploy/docker/runtime-files.sh, so this runs the same script with the same
 * flags (read from the Dockerfile) and starts the CLI from the result. It proves that the
 * compiled workspaces with production dependencies alone train a model and serve the
 * coordinator's pages: no TypeScript, turbo or other dev dependency is needed, and no file
 * the build leaves out is.
 */

const DOCKERFILE = 'deploy/docker/Dockerfile';

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
}

test('the CPU image\'s runtime files train a model and serve the coordinator\'s pages with production dependencies only', async (t) => {
  const { content, config } = readImageConfig(DOCKERFILE);
  const call = /deploy\/docker\/runtime-files\.sh \/runtime([^\n\\]*)/.exec(content);
  assert.ok(call !== null, `${DOCKERFILE} does not run deploy/docker/runtime-files.sh /runtime`);
  const flags = (call[1] ?? '').trim().split(/\s+/).filter((f) => f !== '');
  const root = mkdtempSync(path.join(tmpdir(), 'deploy-image-'));
  // The runtime is about 400 MB (tfjs is most of it): not left behind in /tmp.
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const runtime = path.join(root, 'app');
  // --prefer-offline: the packages are the ones `npm ci` of this repository already fetched.
  const layout = spawnSync(path.join(REPO, 'deploy/docker/runtime-files.sh'), [runtime, ...flags, '--prefer-offline'], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(layout.status, 0, `runtime-files.sh failed:\n${layout.stdout}\n${layout.stderr}`);
  t.diagnostic(`runtime-files.sh /runtime ${flags.join(' ')}: ${layout.stdout.trim().split('\n').at(-1) ?? ''}`);

  // Nothing the lockfile marks dev-only is there (nor, with --omit=optional, optional-only).
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const leftOut = Object.entries(lock.packages).filter(([where, entry]) => where.startsWith('node_modules/') && !entry.link && (entry.dev === true || (flags.includes('--omit=optional') && entry.optional === true)));
  assert.ok(leftOut.some(([where]) => where === 'node_modules/typescript'), 'the lockfile marks typescript dev-only');
  const present = leftOut.filter(([where]) => existsSync(path.join(runtime, where))).map(([where]) => where);
  assert.deepEqual(present, [], 'dev-only (or optional) packages in the runtime');

  // The CLI as the image's /usr/local/bin/tfjs-ddp runs it: its bin file, executed through its shebang.
  const bin = (JSON.parse(readFileSync(path.join(REPO, 'apps/cli/package.json'), 'utf8')) as { bin: Record<string, string> }).bin['tfjs-ddp'] as string;
  const out = path.join(root, 'run');
  const train = spawnSync(path.join(runtime, 'apps/cli', bin), ['train', '--model', 'cnn-bn', '--dataset', 'synthetic', '--threads', '2', '--global-batch', '32', '--max-steps', '2', '--out', out, '--no-progress'], {
    encoding: 'utf8',
    cwd: root,
    // The image's environment: its ENV over a bare PATH (where the image's node is).
    env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, ...config.env },
    timeout: 120_000,
  });
  assert.equal(train.status, 0, `train failed:\n${train.stdout}\n${train.stderr}`);
  assert.match(train.stdout + train.stderr, /"backend":"wasm"/);
  assert.ok(existsSync(path.join(out, 'model.json')) && existsSync(path.join(out, 'weights.bin')), 'no model saved');

  // The coordinator from the same tree serves what the README's port-forward shows: the
  // dashboard (its page modules are a second build output, uPlot comes from node_modules),
  // /metrics, /status and the probes' /healthz.
  const port = await freePort();
  const coordinator = spawn(path.join(runtime, 'apps/cli', bin), ['coordinator', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--wait-timeout', '60'], {
    cwd: root,
    env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, ...config.env, TFJS_DDP_TOKEN: 'image-token' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  coordinator.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  coordinator.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  t.after(() => coordinator.kill('SIGKILL'));
  const get = async (route: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(5000) })).status;
  const deadline = Date.now() + 30_000;
  let healthy = false;
  while (!healthy && Date.now() < deadline && coordinator.exitCode === null) {
    healthy = await get('/healthz').then((status) => status === 200, () => false);
    if (!healthy) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(healthy, `the coordinator never answered /healthz:\n${log}`);
  for (const route of ['/', '/dashboard/uPlot.esm.js', '/metrics', '/status']) assert.equal(await get(route), 200, `GET ${route}`);
});
