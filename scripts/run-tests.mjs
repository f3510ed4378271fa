#!/usr/bin/env node
// Runs every compiled test file of the workspace in one `node --test` invocation, so
// there is exactly one summary at the end (CI reads it). Node 20's test runner takes no
// glob patterns, so the files are collected here.
//
//   node scripts/run-tests.mjs [dir ...]    default: packages, apps, bench, test
//   TFJS_DDP_TEST_FILTER=substr runs only files whose path contains substr
//   CI=true: a skipped test fails the run (CI's machine must have every prerequisite)
//
// Only tests whose source still exists run: dist/x.test.js runs when src/x.test.ts is
// there. tsc never deletes what it emitted, so a test deleted or renamed in src/ leaves
// its old compiled copy in dist/, and that copy would still run, against today's code,
// and fail or pass for nothing. Mapping back to src/ (every workspace compiles
// rootDir src to outDir dist) drops such orphans without a clean build, which would throw
// away turbo's cache and cost every developer a full rebuild per test run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const roots = args.length > 0 ? args.map((a) => path.resolve(a)) : ['packages', 'apps', 'bench', 'test'].map((d) => path.join(root, d));
const filter = process.env.TFJS_DDP_TEST_FILTER ?? '';
const ci = (process.env.CI ?? '') !== '' && process.env.CI !== 'false' && process.env.CI !== '0';

/** The source a compiled test came from: <pkg>/dist/a/b.test.js -> <pkg>/src/a/b.test.ts. */
function sourceOf(compiled) {
  const parts = compiled.split(path.sep);
  const dist = parts.lastIndexOf('dist');
  parts[dist] = 'src';
  return parts.join(path.sep).replace(/\.js$/, '.ts');
}

function collect(dir, out, orphans) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'src' || entry.startsWith('.')) continue;
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) collect(p, out, orphans);
    else if (p.includes(`${path.sep}dist${path.sep}`) && entry.endsWith('.test.js')) {
      if (filter && !p.includes(filter)) continue;
      if (existsSync(sourceOf(p))) out.push(p);
      else orphans.push(p);
    }
  }
}

const files = [];
const orphans = [];
for (const r of roots) collect(r, files, orphans);
files.sort();
for (const o of orphans) {
  console.error(`run-tests: not running ${path.relative(root, o)}: its source ${path.relative(root, sourceOf(o))} is gone (a stale build output)`);
}
if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `npm run build` first');
  process.exit(1);
}

const skipDir = mkdtempSync(path.join(tmpdir(), 'run-tests-'));
const skipFile = path.join(skipDir, 'skipped.jsonl');
const reporters = [
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${path.join(here, 'skip-reporter.mjs')}`, `--test-reporter-destination=${skipFile}`,
];
const child = spawn(process.execPath, ['--test', ...reporters, ...files], { stdio: 'inherit' });
child.on('exit', (code, signal) => {
  const status = code ?? (signal ? 1 : 0);
  const skipped = existsSync(skipFile) ? readFileSync(skipFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) : [];
  rmSync(skipDir, { recursive: true, force: true });
  for (const s of skipped) console.error(`run-tests: skipped ${s.file} › ${s.name}${s.reason ? `: ${s.reason}` : ''}`);
  if (ci && skipped.length > 0) {
    console.error(`run-tests: CI=${process.env.CI}: ${skipped.length} skipped test(s) fail the run; CI must have every prerequisite (see .ci/run)`);
    process.exit(status === 0 ? 1 : status);
  }
  process.exit(status);
});
