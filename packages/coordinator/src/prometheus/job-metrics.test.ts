import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RankStepReport } from '@tfjs-ddp/protocol';
import type { MetricsRecord } from '../metrics-log.js';
import type { JobStatus } from '../status.js';
import { JobMetrics } from './job-metrics.js';

function status(parameters: number | null, workers: JobStatus['workers'] = []): JobStatus {
  return {
    job: { id: 'j', model: 'mlp', dataset: 'synthetic', bnMode: 'sync', globalBatch: 8, epochs: 1, dataSource: 'local', balance: 'even', compress: 'none', state: 'training', parameters, rankRestarts: 0, generation: 0 },
    step: 0,
    totalSteps: 10,
    epoch: 0,
    loss: null,
    accuracy: null,
    testAccuracy: null,
    samplesPerSec: 0,
    etaSec: null,
    expectedWorkers: 1,
    workers,
  };
}

function step(ranks: RankStepReport[]): MetricsRecord {
  return { kind: 'step', time: new Date().toISOString(), step: 1, epoch: 0, loss: 0.5, accuracy: 0.75, samples: 8, samplesPerSec: 80, stepMs: 100, ranks };
}

const rank = (r: number, allReduceMs: number): RankStepReport => ({ rank: r, lossSum: 2, correct: 3, count: 4, computeMs: 60, syncBnMs: 5, allReduceMs, applyMs: 2, waitMs: 1 });

async function sampleValue(metrics: JobMetrics, name: string): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric !== undefined, `no metric ${name}`);
  return (await metric.get()).values[0]?.value;
}

test('before the first step the loss, accuracies and bandwidths are NaN (unknown), not 0', async () => {
  const metrics = new JobMetrics(() => status(100), { processMetrics: false });
  for (const name of ['tfjs_ddp_loss', 'tfjs_ddp_accuracy', 'tfjs_ddp_test_accuracy', 'tfjs_ddp_allreduce_busbw_bytes_per_second']) {
    assert.ok(Number.isNaN(await sampleValue(metrics, name)), name);
  }
  assert.equal(await sampleValue(metrics, 'tfjs_ddp_allreduce_bytes'), 400);
  assert.match(await metrics.metrics(), /^tfjs_ddp_loss Nan$/m);
});

test('a step sets the gauges; one rank all-reduces nothing, two do', async () => {
  const metrics = new JobMetrics(() => status(1000), { processMetrics: false });
  metrics.observe(step([rank(0, 0)]));
  assert.equal(await sampleValue(metrics, 'tfjs_ddp_loss'), 0.5);
  assert.equal(await sampleValue(metrics, 'tfjs_ddp_samples_total'), 4);
  assert.equal(await sampleValue(metrics, 'tfjs_ddp_allreduce_bytes_total'), 0);
  metrics.observe(step([rank(0, 30), rank(1, 10)]));
  assert.equal(await sampleValue(metrics, 'tfjs_ddp_allreduce_bytes_total'), 4000);
  // 4000 bytes in 10 ms (the last rank to arrive): 400 kB/s algbw, x 2(2-1)/2 = the same busbw.
  assert.equal(await sampleValue(metrics, 'tfjs_ddp_allreduce_algbw_bytes_per_second'), 400_000);
  assert.equal(await sampleValue(metrics, 'tfjs_ddp_allreduce_busbw_bytes_per_second'), 400_000);
});

test("each worker's peer links: bytes and time per step, achieved rate, network share, byte totals", async () => {
  const network = {
    sentBytesPerStep: 424_100, receivedBytesPerStep: 424_000, payloadBytesPerStep: 423_800, netMsPerStep: 340,
    linkBitsPerSec: 9.98e6, networkFraction: 0.77, windowSteps: 20, sentBytesTotal: 8_482_000, receivedBytesTotal: 8_480_000,
  };
  const worker = { id: 'w2', host: 'h', processRank: 1, ranks: [1], threads: 1, backend: 'wasm', device: 'CPU (wasm)', lastStepMs: 440, state: 'training' as const };
  const metrics = new JobMetrics(() => status(100, [{ ...worker, network }, { ...worker, id: 'w1', network: null }]), { processMetrics: false });
  const text = await metrics.metrics();
  assert.match(text, /^tfjs_ddp_worker_network_sent_bytes_per_step\{worker="w2"\} 424100$/m);
  assert.match(text, /^tfjs_ddp_worker_network_payload_bytes_per_step\{worker="w2"\} 423800$/m);
  assert.match(text, /^tfjs_ddp_worker_network_seconds_per_step\{worker="w2"\} 0\.34$/m);
  assert.match(text, /^tfjs_ddp_worker_link_throughput_bits_per_second\{worker="w2"\} 9980000$/m);
  assert.match(text, /^tfjs_ddp_worker_network_fraction\{worker="w2"\} 0\.77$/m);
  assert.match(text, /^tfjs_ddp_worker_network_sent_bytes_total\{worker="w2"\} 8482000$/m);
  assert.match(text, /^tfjs_ddp_worker_network_received_bytes_total\{worker="w2"\} 8480000$/m);
  // A worker with no peer-link report yet has no series (not a 0 that reads as an idle link).
  assert.doesNotMatch(text, /^tfjs_ddp_worker_(network|link)\w*\{worker="w1"\}/m);
});
