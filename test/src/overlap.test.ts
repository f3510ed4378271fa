import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { savedWeights, startCli, type RunningProcess } from './harness/processes.js';
import { compareWithReference, maxRelativeDifference, referenceRun, stepLosses, withinTolerance } from './harness/reference.js';

/**
 * Issue 18: the gradient all-reduce overlaps backward (buckets started as backward
 * delivers their gradients, served by each process's comm side while the rank thread
 * computes on). `train --procs N` runs one rank per process, where it applies by default
 * (unless the machine has fewer cores than rank threads; the bucket size set here wins).
 * Exactness: the overlapped run equals the blocking one (TFJS_DDP_TEST_BUCKET_BYTES=0) and
 * one replica with plain BN on the whole batch, within procs.test.ts's 1e-5 relative;
 * the log says which ran (gradientBuckets of each rank).
 */
const TOLERANCE = 1e-5;
const dir = mkdtempSync(path.join(tmpdir(), 'overlap-'));
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));
delete process.env.CUDA_VISIBLE_DEVICES;

interface Run {
  weights: Float32Array;
  losses: number[];
  config: TrainConfig;
  /** gradientBuckets that each rank logged when ready. */
  buckets: number[];
}

async function train(name: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = path.join(dir, name);
  const p = startCli(['train', '--no-progress', '--log-level', 'info', ...args, '--out', out], { env, timeoutMs: 150_000 });
  running.push(p);
  assert.equal(await p.exited, 0, p.output().slice(-4000));
  const output = p.output();
  const line = output.split('\n').find((l) => l.includes('"config":'));
  assert.ok(line !== undefined, `no config logged:\n${output.slice(0, 2000)}`);
  const config = (JSON.parse(line) as { config: TrainConfig }).config;
  const buckets = [...output.matchAll(/"gradientBuckets":(\d+)/g)].map((m) => Number(m[1]));
  return { weights: savedWeights(out), losses: stepLosses(out), config, buckets };
}

for (const [procs, optimizer, lr] of [[2, 'sgd', '0.05'], [2, 'adam', '0.003'], [4, 'sgd', '0.05']] as const) {
  test(`train --procs ${procs} cnn-bn with SyncBN (${optimizer}): the overlapped all-reduce equals the blocking one and one replica`, { timeout: 200_000 }, async (t) => {
    const args = ['--procs', String(procs), '--model', 'cnn-bn', '--dataset', 'synthetic', '--global-batch', '16', '--max-steps', '5', '--seed', '7', '--optimizer', optimizer, '--lr', lr];
    // Buckets of 4 KB: this 8x8 synthetic set's cnn-bn (~40 KB) would be one bucket of the default size.
    const overlapped = await train(`overlapped-${procs}-${optimizer}`, args, { TFJS_DDP_TEST_BUCKET_BYTES: '4096' });
    const blocking = await train(`blocking-${procs}-${optimizer}`, args, { TFJS_DDP_TEST_BUCKET_BYTES: '0' });
    assert.equal(overlapped.buckets.length, procs, 'every rank logged its buckets');
    assert.ok(overlapped.buckets.every((b) => b >= 2), `overlapped: ${overlapped.buckets.join(', ')} buckets`);
    assert.deepEqual(blocking.buckets, Array.from({ length: procs }, () => 0), 'TFJS_DDP_TEST_BUCKET_BYTES=0: no overlap');
    const weightDiff = maxRelativeDifference(overlapped.weights, blocking.weights);
    const lossDiff = maxRelativeDifference(overlapped.losses, blocking.losses);
    console.log(`# procs ${procs} ${optimizer}: overlapped (${overlapped.buckets[0]} buckets) vs blocking: loss max diff ${lossDiff.toExponential(2)}, weight max diff ${weightDiff.toExponential(2)}`);
    const reference = await referenceRun(overlapped.config);
    const vsReference = compareWithReference(t, `overlapped procs ${procs} ${optimizer}`, overlapped, reference);
    const blockingVsReference = compareWithReference(t, `blocking procs ${procs} ${optimizer}`, blocking, reference);
    console.log(
      `# procs ${procs} ${optimizer} vs one replica: overlapped loss ${vsReference.lossDiff.toExponential(2)} weights ${vsReference.weightDiff.toExponential(2)}; ` +
        `blocking loss ${blockingVsReference.lossDiff.toExponential(2)} weights ${blockingVsReference.weightDiff.toExponential(2)}`,
    );
    assert.ok(...withinTolerance(`overlapped vs blocking procs ${procs} ${optimizer}`, { lossDiff, weightDiff }, TOLERANCE));
    assert.ok(...withinTolerance(`overlapped procs ${procs} ${optimizer}`, vsReference, TOLERANCE));
    assert.ok(...withinTolerance(`blocking procs ${procs} ${optimizer}`, blockingVsReference, TOLERANCE));
  });
}
