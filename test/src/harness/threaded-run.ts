import assert from 'node:assert/strict';
import type { BackendName } from '@tfjs-ddp/backend';
import type { TrainConfig } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';

/**
 * A real job in rank threads of this process (`runLocalJob`): rank 0's final weights
 * and the mean loss of every step's global batch, from the ranks' own reports. Fails if
 * the replicas' trainable weights differ (moving statistics may differ outside `sync`
 * until they are averaged at the end, which returnWeights reports per rank).
 */
export async function threadedRun(
  config: TrainConfig,
  threads: number,
  bnMode: string,
  shardWeights?: number[],
  backend: BackendName = 'wasm',
): Promise<{ weights: Float32Array; losses: number[] }> {
  const losses: number[] = [];
  const job = await runLocalJob({
    config,
    threads,
    bnMode,
    shardWeights,
    returnWeights: true,
    backend,
    checkReplicasEvery: 1,
    hooks: { onStep: (_, reports) => losses.push(reports.reduce((n, r) => n + r.lossSum, 0) / reports.reduce((n, r) => n + r.count, 0)) },
  });
  const replicas = job.weights ?? [];
  assert.equal(replicas.length, threads);
  const first = replicas[0] as Float32Array;
  replicas.forEach((w, rank) => assert.deepEqual(w, first, `rank ${rank} holds other bits than rank 0`));
  return { weights: first, losses };
}
