#!/usr/bin/env node
// Fails when a workspace package depends on, or imports, one of ours it may not (issue 16's
// layering), or when a package that must stay tfjs-free names @tensorflow. Reads every
// workspace's package.json dependencies and every import line of its src/ (static
// `from '…'`, side-effect `import '…'`, dynamic `import('…')`, `require('…')`), test files
// included: a test of a package runs with that package's dependencies.
//
//   node scripts/check-layers.mjs [root]     root: the repository (default: this script's)
//
// Prints one line per violation, `file:line: what`, and exits 1 if there is any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Who may import whom (an arrow "may import"), the target of issue 16:
 * protocol <- collective <- nn <- trainer <- worker <- study, cli, tfjs-ddp (the library); job and data use no tfjs;
 * the coordinator only protocol, job and data. `tfjs`: may it import @tensorflow/*.
 * '*': may import every package (the CLI loads each command's lazily; bench and the
 * end-to-end tests drive everything).
 */
export const LAYERS = {
  protocol: { may: [], tfjs: false },
  data: { may: [], tfjs: false },
  job: { may: ['protocol', 'data'], tfjs: false },
  collective: { may: ['protocol'], tfjs: false },
  backend: { may: [], tfjs: true },
  nn: { may: ['backend', 'data', 'collective'], tfjs: true },
  trainer: { may: ['nn', 'backend', 'collective', 'data', 'job', 'protocol'], tfjs: true },
  coordinator: { may: ['protocol', 'job', 'data'], tfjs: false },
  worker: { may: ['trainer', 'collective', 'nn', 'backend', 'data', 'job', 'protocol'], tfjs: true },
  // The study's question 3 trains on real rank threads (the worker's runLocalJob) with a job config.
  study: { may: ['worker', 'trainer', 'nn', 'backend', 'data', 'job', 'protocol'], tfjs: true },
  // The library API (package `tfjs-ddp`): fit over the local job's rank threads, as `train` runs them.
  'tfjs-ddp': { may: ['worker', 'trainer', 'data', 'job', 'protocol'], tfjs: true },
  cli: { may: '*', tfjs: true },
  bench: { may: '*', tfjs: true },
  e2e: { may: '*', tfjs: true },
};

const SCOPE = '@tfjs-ddp/';
const SOURCE = /\.(c|m)?(t|j)sx?$/;
/** Module specifiers on a line: from '…', import '…', import('…'), require('…'). */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

function workspaceDirs(root) {
  const globs = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces ?? [];
  const dirs = [];
  for (const glob of globs) {
    if (glob.endsWith('/*')) {
      const parent = path.join(root, glob.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const entry of readdirSync(parent).sort()) dirs.push(path.join(parent, entry));
    } else dirs.push(path.join(root, glob));
  }
  return dirs.filter((d) => existsSync(path.join(d, 'package.json')));
}

function sourceFiles(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir).sort()) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `@tfjs-ddp/nn/options` -> `nn`; `@tfjs-ddp/cli` -> `cli`. */
function ourPackage(specifier) {
  return specifier.startsWith(SCOPE) ? specifier.slice(SCOPE.length).split('/')[0] : undefined;
}

/** Why `layer` may not use `specifier`, or undefined when it may. */
function forbidden(layer, specifier) {
  const rule = LAYERS[layer];
  const target = ourPackage(specifier);
  if (target !== undefined) {
    if (target === layer || rule.may === '*' || rule.may.includes(target)) return undefined;
    return `${layer} may not import ${SCOPE}${target} (${layer} may import: ${rule.may.join(', ') || 'none of ours'})`;
  }
  if (specifier.startsWith('@tensorflow/') && !rule.tfjs) return `${layer} must not use tfjs (${specifier})`;
  return undefined;
}

export function checkLayers(root) {
  const violations = [];
  const rel = (p) => path.relative(root, p);
  for (const dir of workspaceDirs(root)) {
    const manifestPath = path.join(dir, 'package.json');
    const manifestText = readFileSync(manifestPath, 'utf8');
    const manifest = JSON.parse(manifestText);
    const name = manifest.name ?? '';
    const layer = name.startsWith(SCOPE) ? name.slice(SCOPE.length) : path.basename(dir);
    if (!(layer in LAYERS)) {
      violations.push(`${rel(manifestPath)}:1: package ${name} has no row in the layer table of scripts/check-layers.mjs`);
      continue;
    }
    const lines = manifestText.split('\n');
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dependency of Object.keys(manifest[field] ?? {})) {
        const why = forbidden(layer, dependency);
        if (why === undefined) continue;
        const at = lines.findIndex((l) => l.includes(`"${dependency}"`));
        violations.push(`${rel(manifestPath)}:${at + 1}: ${field}: ${why}`);
      }
    }
    for (const file of sourceFiles(path.join(dir, 'src'))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const match of line.matchAll(SPECIFIER)) {
            const why = forbidden(layer, match[1]);
            if (why !== undefined) violations.push(`${rel(file)}:${i + 1}: ${why}`);
          }
        });
    }
  }
  return violations;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = checkLayers(root);
  for (const v of violations) console.log(v);
  if (violations.length > 0) {
    console.error(`check-layers: ${violations.length} forbidden dependencies or imports (the table is in scripts/check-layers.mjs)`);
    process.exit(1);
  }
  console.error('check-layers: every package imports only the packages below it');
}
