#!/usr/bin/env node
// The GPU check of issue 15: trains zoo models for a few steps with each GPU backend that
// loads here (webgpu; node-gpu where @tensorflow/tfjs-node-gpu is installed) and with wasm
// in the same run, one rank each, and prints one JSON line per (model, backend): ms/step
// and samples/s (median over the measured steps, after warm-up: the first steps compile
// WebGPU's shaders), plus the device the backend reported. Runs offline: everything it
// needs is in node_modules; build first (`npm run build`).
//
//   node scripts/gpu-check.mjs [--models cnn-bn,resnet] [--backends webgpu,node-gpu,wasm]
//                              [--batch 64] [--warmup 2] [--steps 5] [--dataset mnist]
//
// Every backend trains the same job: the bundled MNIST (28x28; `synthetic` is 8x8, too
// small to load a GPU), --bn local (webgpu runs no SyncBN across ranks yet; one rank
// needs none) and no BN recalibration (it is not part of a step), so the figures compare
// backends, not jobs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'apps', 'cli', 'bin', 'tfjs-ddp.js');

function parseArgs(argv) {
  const options = { models: ['cnn-bn', 'resnet'], backends: ['webgpu', 'node-gpu', 'wasm'], batch: 64, warmup: 2, steps: 5, dataset: 'mnist' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`gpu-check: ${flag} needs a value`);
    if (flag === '--models' || flag === '--backends') options[flag.slice(2)] = value.split(',');
    else if (flag === '--dataset') options.dataset = value;
    else if (['--batch', '--warmup', '--steps'].includes(flag)) options[flag.slice(2)] = Number.parseInt(value, 10);
    else throw new Error(`gpu-check: unknown option ${flag}`);
  }
  return options;
}

/** Why `backend` cannot run here, or undefined: the native package must load, WebGPU must find an adapter. */
async function unavailable(backend) {
  if (backend === 'node-gpu') {
    const load = "await import('@tensorflow/tfjs-node-gpu')";
    const probe = spawnSync(process.execPath, ['--input-type=module', '-e', load], { cwd: root, encoding: 'utf8' });
    const why = probe.stderr.split('\n').find((l) => /Error/.test(l)) ?? 'not installed';
    return probe.status === 0 ? undefined : `@tensorflow/tfjs-node-gpu does not load: ${why}`;
  }
  if (backend === 'webgpu') {
    const { webGpuUnavailable } = await import(path.join(root, 'packages', 'backend', 'dist', 'index.js'));
    return webGpuUnavailable();
  }
  return undefined;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One short training run; its step times come from the run's metrics file, its device from the log. */
function trainOnce(model, backend, options) {
  const out = mkdtempSync(path.join(tmpdir(), 'gpu-check-'));
  try {
    const args = [cli, 'train', '--backend', backend, '--threads', '1', '--model', model, '--dataset', options.dataset,
      '--global-batch', String(options.batch), '--max-steps', String(options.warmup + options.steps),
      '--bn', 'local', '--bn-recalibrate', 'off', '--out', out];
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) return { error: (run.stderr.trim().split('\n').filter((l) => !l.startsWith('Warning')).pop() ?? `exit ${run.status}`) };
    // The log (JSON lines on stderr when not a terminal): the backend's line names the device.
    const ready = run.stderr.split('\n').filter((l) => l.startsWith('{') && l.includes('"backend"'))
      .map((l) => JSON.parse(l)).find((r) => r.reason !== undefined);
    const steps = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n')
      .filter((l) => l.includes('"kind":"step"')).map((l) => JSON.parse(l)).filter((r) => r.step > options.warmup);
    const msPerStep = median(steps.map((s) => s.stepMs));
    const samplesPerSec = Math.round((options.batch * 10000) / msPerStep) / 10;
    return { device: ready?.device ?? backend, msPerStep: Math.round(msPerStep * 10) / 10, samplesPerSec, steps: steps.length };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const options = parseArgs(process.argv.slice(2));
const skipped = new Map();
for (const backend of options.backends) {
  const reason = await unavailable(backend);
  if (reason !== undefined) skipped.set(backend, reason);
}
for (const model of options.models) {
  const samplesPerSec = {};
  for (const backend of options.backends) {
    const base = { model, backend, dataset: options.dataset, batch: options.batch };
    const reason = skipped.get(backend);
    const result = reason === undefined ? trainOnce(model, backend, options) : { skipped: reason };
    if (result.samplesPerSec !== undefined) samplesPerSec[backend] = result.samplesPerSec;
    console.log(JSON.stringify({ ...base, ...result }));
  }
  // Each backend beside wasm, measured in this same run on this same machine.
  const wasm = samplesPerSec.wasm;
  const vsWasm = wasm === undefined ? undefined : Object.fromEntries(Object.entries(samplesPerSec).map(([b, v]) => [b, Math.round((v / wasm) * 100) / 100]));
  console.log(JSON.stringify({ model, summary: 'samples/s', samplesPerSec, ...(vsWasm === undefined ? {} : { vsWasm }) }));
}
