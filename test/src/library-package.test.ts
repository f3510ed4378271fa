import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Issue 17: the library as a user gets it. scripts/pack-library.mjs packs one tarball (the
 * workspace packages bundled inside); a fresh project installs it with npm from the
 * tarball (third-party packages from the registry or npm's cache) and runs the README's
 * example unchanged: a functional model, 2 rank threads, SyncBN, whose weights must come
 * out within 1e-5 of tfjs's own model.fit on the whole batch. The bin answers too.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(command: string, args: string[], cwd: string, timeout: number): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
}

test('the packed tarball installs into a fresh project, whose copy of the README example trains as tfjs\'s fit does', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'library-package-'));
  try {
    const packed = JSON.parse(run(process.execPath, [path.join(root, 'scripts', 'pack-library.mjs'), dir], root, 120_000)) as { tarball: string; bytes: number };
    console.log(`# ${path.basename(packed.tarball)}: ${(packed.bytes / 1024).toFixed(0)} KiB`);
    const project = path.join(dir, 'project');
    cpSync(path.join(root, 'examples', 'fit-arrays.mjs'), path.join(project, 'fit-arrays.mjs'));
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'a-user-project', private: true, type: 'module' }));
    const started = performance.now();
    run('npm', ['install', packed.tarball, '@tensorflow/tfjs@4.22.0', '--prefer-offline', '--no-audit', '--no-fund'], project, 300_000);
    console.log(`# npm install took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // One tfjs for the user's model and the library's threads: not a second copy inside the package.
    assert.equal(existsSync(path.join(project, 'node_modules', 'tfjs-ddp', 'node_modules', '@tensorflow')), false, 'a nested @tensorflow copy');
    assert.equal(existsSync(path.join(project, 'node_modules', '@tfjs-ddp')), false, 'the workspace packages stay bundled inside tfjs-ddp');

    const output = run(process.execPath, ['fit-arrays.mjs'], project, 180_000);
    console.log(output.trim().split('\n').map((l) => `# ${l}`).join('\n'));
    const apart = /largest weight difference to tfjs's model.fit: (\S+)/.exec(output);
    assert.ok(apart !== null, output);
    assert.ok(Number(apart[1]) < 1e-5, `the library's weights are ${apart[1]} from tfjs's fit`);
    assert.match(output, /epoch 3: loss [\d.]+, accuracy [\d.]+, validation loss [\d.]+/);
    assert.match(run('npx', ['--no-install', 'tfjs-ddp', '--version'], project, 60_000), /^\d+\.\d+\.\d+ \(protocol v\d+\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
