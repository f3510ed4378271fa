import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The repository's layering (scripts/check-layers.mjs) and source size limits
 * (scripts/check-source-size.mjs) hold; and each checker catches what it is for, shown on
 * a small repository written here with one fault of each kind.
 */
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAYERS = path.join(repo, 'scripts/check-layers.mjs');
const SIZE = path.join(repo, 'scripts/check-source-size.mjs');

function run(script: string, root: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, root], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(root: string, file: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
}

function manifest(name: string, dependencies: Record<string, string> = {}): string {
  return `${JSON.stringify({ name, dependencies }, null, 2)}\n`;
}

test('no package imports one beside or above it (scripts/check-layers.mjs)', () => {
  const r = run(LAYERS, repo);
  assert.equal(r.status, 0, `forbidden imports:\n${r.stdout}${r.stderr}`);
});

test('no source file over 400 lines, no line over 160 characters outside tests (scripts/check-source-size.mjs)', () => {
  const r = run(SIZE, repo);
  assert.equal(r.status, 0, `too long:\n${r.stdout}${r.stderr}`);
});

test('check-layers names each forbidden dependency and import line, and passes allowed ones', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'check-layers-'));
  write(root, 'package.json', JSON.stringify({ workspaces: ['packages/*', 'apps/*'] }));
  write(root, 'packages/coordinator/package.json', manifest('@tfjs-ddp/coordinator', { '@tfjs-ddp/protocol': '0', '@tfjs-ddp/nn': '0' }));
  write(root, 'packages/coordinator/src/a.ts', "import { x } from '@tfjs-ddp/protocol';\nimport { y } from '@tfjs-ddp/job';\nimport * as tf from '@tensorflow/tfjs';\n");
  write(root, 'packages/worker/package.json', manifest('@tfjs-ddp/worker', { '@tfjs-ddp/trainer': '0' }));
  write(root, 'packages/worker/src/b.ts', "const c = await import('@tfjs-ddp/coordinator');\nexport type { T } from '@tfjs-ddp/trainer';\n");
  write(root, 'packages/worker/src/b.test.ts', "\n\nimport '@tfjs-ddp/coordinator/shard-balancer';\n");
  write(root, 'packages/data/package.json', manifest('@tfjs-ddp/data', { '@tensorflow/tfjs': '4' }));
  write(root, 'apps/cli/package.json', manifest('@tfjs-ddp/cli', { '@tfjs-ddp/worker': '0', '@tfjs-ddp/coordinator': '0' }));
  write(root, 'apps/cli/src/c.ts', "import { run } from '@tfjs-ddp/coordinator';\nimport { w } from '@tfjs-ddp/worker';\n");
  write(root, 'packages/extra/package.json', manifest('@tfjs-ddp/extra'));
  const r = run(LAYERS, root);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const found = r.stdout.trim().split('\n').map((line) => line.split(': ')[0]).sort();
  assert.deepEqual(found, [
    'packages/coordinator/package.json:5',
    'packages/coordinator/src/a.ts:3',
    'packages/data/package.json:4',
    'packages/extra/package.json:1',
    'packages/worker/src/b.test.ts:3',
    'packages/worker/src/b.ts:1',
  ], r.stdout);
  assert.match(r.stdout, /packages\/worker\/src\/b\.ts:1: worker may not import @tfjs-ddp\/coordinator/);
  assert.match(r.stdout, /packages\/coordinator\/src\/a\.ts:3: coordinator must not use tfjs \(@tensorflow\/tfjs\)/);
});

test('check-source-size names long files (tests too) and wide lines (outside tests only)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'check-size-'));
  write(root, 'package.json', JSON.stringify({ workspaces: ['packages/*', 'test'] }));
  write(root, 'packages/p/package.json', manifest('@tfjs-ddp/p'));
  write(root, 'test/package.json', manifest('@tfjs-ddp/e2e'));
  const wide = `const s = '${'x'.repeat(150)}';\n`;
  write(root, 'packages/p/src/ok.ts', `${'const a = 1;\n'.repeat(399)}// ${'y'.repeat(157)}\n`);
  write(root, 'packages/p/src/wide.ts', `\n${wide}`);
  write(root, 'packages/p/src/long.test.ts', `${wide}${'\n'.repeat(401)}`);
  write(root, 'packages/p/src/fixtures/f.ts', wide);
  write(root, 'test/src/harness/h.ts', wide);
  write(root, 'scripts/s.mjs', wide);
  const r = run(SIZE, root);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const found = r.stdout.trim().split('\n').map((line) => line.split(': ')[0]).sort();
  assert.deepEqual(found, ['packages/p/src/long.test.ts:401', 'packages/p/src/wide.ts:2', 'scripts/s.mjs:1'], r.stdout);
});
