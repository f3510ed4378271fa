#!/usr/bin/env node
// Runs every compiled test file of the workspace in one `node --test` invocation, so
// there is exactly one summary at the end (CI reads it). Node 20's test runner takes no
// glob patterns, so the files are collected here.
//
//   node scripts/run-tests.mjs [dir ...]    default: packages, apps, test
//   TFJS_DDP_LONG=1 also runs *.long.test.js (soak and scale runs)
//   TFJS_DDP_TEST_FILTER=substr runs only files whose path contains substr
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const roots = args.length > 0 ? args.map((a) => path.resolve(a)) : ['packages', 'apps', 'test'].map((d) => path.join(root, d));
const long = process.env.TFJS_DDP_LONG === '1';
const filter = process.env.TFJS_DDP_TEST_FILTER ?? '';

function collect(dir, out) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'src' || entry.startsWith('.')) continue;
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (p.includes(`${path.sep}dist${path.sep}`) && entry.endsWith('.test.js')) {
      if (entry.endsWith('.long.test.js') && !long) continue;
      if (filter && !p.includes(filter)) continue;
      out.push(p);
    }
  }
}

const files = [];
for (const r of roots) collect(r, files);
files.sort();
if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `npm run build` first');
  process.exit(1);
}
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
