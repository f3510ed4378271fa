#!/usr/bin/env node
// Fails on a source file over 400 lines, and on a line over 160 characters outside tests
// (issue 16: long lines were mostly inline error messages; build them on several lines).
// Tests may have long lines (tables of cases, command lines); the 400-line limit holds for
// every file, tests included. A test is a `*.test.*` file, anything in the end-to-end test
// workspace test/ (its harness and fixtures), or a file in a `fixtures/` folder.
//
//   node scripts/check-source-size.mjs [root]     root: the repository (default: this script's)
//
// Scans src/ of every workspace package plus scripts/; prints `file:line: what` per finding.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAX_LINES = 400;
export const MAX_LINE_LENGTH = 160;

const SOURCE = /\.(c|m)?(t|j)sx?$/;

function files(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir).sort()) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) files(p, out);
    else if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function sourceRoots(root) {
  const globs = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces ?? [];
  const roots = [path.join(root, 'scripts')];
  for (const glob of globs) {
    const base = path.join(root, glob.endsWith('/*') ? glob.slice(0, -2) : glob);
    if (!existsSync(base)) continue;
    const packages = glob.endsWith('/*') ? readdirSync(base).sort().map((e) => path.join(base, e)) : [base];
    for (const p of packages) if (existsSync(path.join(p, 'package.json'))) roots.push(path.join(p, 'src'));
  }
  return roots;
}

/** Test code: allowed long lines. `relative` uses / separators. */
export function isTest(relative) {
  return /\.test\.[cm]?[tj]sx?$/.test(relative) || relative.startsWith('test/') || relative.split('/').includes('fixtures');
}

export function checkSourceSize(root) {
  const findings = [];
  for (const dir of sourceRoots(root)) {
    for (const file of files(dir)) {
      const relative = path.relative(root, file).split(path.sep).join('/');
      const lines = readFileSync(file, 'utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      if (lines.length > MAX_LINES) findings.push(`${relative}:${MAX_LINES + 1}: ${lines.length} lines (at most ${MAX_LINES}): split the file`);
      if (isTest(relative)) continue;
      lines.forEach((line, i) => {
        if (line.length > MAX_LINE_LENGTH) findings.push(`${relative}:${i + 1}: ${line.length} characters (at most ${MAX_LINE_LENGTH} outside tests)`);
      });
    }
  }
  return findings;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const findings = checkSourceSize(root);
  for (const f of findings) console.log(f);
  if (findings.length > 0) {
    console.error(`check-source-size: ${findings.length} file(s) too long or line(s) too wide`);
    process.exit(1);
  }
  console.error(`check-source-size: no file over ${MAX_LINES} lines, no line over ${MAX_LINE_LENGTH} characters outside tests`);
}
