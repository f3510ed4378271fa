import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '@tfjs-ddp/backend';
import { trainSingleReplica, type TrainConfig } from '@tfjs-ddp/trainer';

/**
 * One replica training alone in its thread, no communication at all: N of these running
 * at once measure what the hardware gives N replicas (the 2 vCPUs here share their
 * vector units), the denominator of ratioToIndependentReplicas.
 */
const { config, warmup } = workerData as { config: TrainConfig; warmup: number };
await initBackend('wasm');
let measuredFrom = 0;
let samplesAtWarmup = 0;
let samplesAtEnd = 0;
const result = await trainSingleReplica(config, {
  onStep: (p) => {
    if (p.step === warmup) {
      measuredFrom = performance.now();
      samplesAtWarmup = p.samples;
    }
    samplesAtEnd = p.samples;
  },
});
const samples = samplesAtEnd - samplesAtWarmup;
parentPort?.postMessage({ samples, seconds: (performance.now() - measuredFrom) / 1000, steps: result.steps });
