import { CUDA_DEVICES_ENV, GPU_INDEX_ENV } from './device-pinning.js';
import { WorkerError } from './errors.js';
import type { RankTestFaults, StepOrder } from './rank-messages.js';

/**
 * TEST FAULT HOOKS: ways to make a worker misbehave on purpose, so end-to-end tests can
 * see the coordinator's checks catch it. In one process tests inject `RankTestFaults`
 * (runLocalJob's `testFaults`); across processes the only practical carrier is the
 * environment, read here and nowhere else:
 *
 *   TFJS_DDP_TEST_FAULT_WRONG_SHARD=<step>   from that step (0-based) on, every rank of
 *                                            this worker process trains a wrong shard
 *   TFJS_DDP_TEST_REPORT_DEVICE=1            when its ranks are ready, the worker process
 *                                            prints one line per rank to stderr: its rank,
 *                                            pid, CUDA_VISIBLE_DEVICES, TFJS_DDP_GPU_INDEX
 *                                            and backend device (a rank process sees only
 *                                            the device it was pinned to: the tests check it)
 *
 * Never set these outside tests: the coordinator then drops the worker (that is the point).
 */
export const WRONG_SHARD_ENV = 'TFJS_DDP_TEST_FAULT_WRONG_SHARD';
export const REPORT_DEVICE_ENV = 'TFJS_DDP_TEST_REPORT_DEVICE';

/** The line TFJS_DDP_TEST_REPORT_DEVICE prints for a rank; nothing when it is not set (the normal case). */
export function reportDeviceForTests(rank: number, device: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env[REPORT_DEVICE_ENV] !== '1') return;
  const visible = env[CUDA_DEVICES_ENV] ?? '(unset)';
  const index = env[GPU_INDEX_ENV] ?? '(unset)';
  process.stderr.write(`test-report-device rank=${rank} pid=${process.pid} ${CUDA_DEVICES_ENV}=${visible} ${GPU_INDEX_ENV}=${index} device=${device}\n`);
}

/** The faults the environment plants in this process's ranks; undefined (the normal case) when none. */
export function rankTestFaultsFromEnv(env: NodeJS.ProcessEnv = process.env): RankTestFaults | undefined {
  const raw = env[WRONG_SHARD_ENV];
  if (raw === undefined || raw === '') return undefined;
  const step = Number(raw);
  if (!Number.isInteger(step) || step < 0) {
    throw new WorkerError(
      'WORKER_ERR_BAD_OPTION',
      `${WRONG_SHARD_ENV} must be a step number (an integer >= 0), got ${JSON.stringify(raw.slice(0, 32))}`,
    );
  }
  return { wrongShardFromStep: step };
}

/**
 * The order with a wrong shard: its first sample trained twice, in place of the second
 * (in a shard of one, twice). A rank that trains it and reports honestly what it trained
 * reports other samples than its shard; an empty shard stays empty.
 */
export function plantWrongShard(order: StepOrder): StepOrder {
  const n = order.indices.length;
  if (n === 0) return order;
  const positions = n === 1 ? [0, 0] : [0, 0, ...Array.from({ length: n - 2 }, (_, i) => i + 2)];
  const indices = Int32Array.from(positions, (p) => order.indices[p] as number);
  if (order.x === undefined || order.y === undefined) return { ...order, indices };
  const width = order.x.length / n;
  const x = new Float32Array(positions.length * width);
  positions.forEach((p, i) => x.set((order.x as Float32Array).subarray(p * width, (p + 1) * width), i * width));
  return { ...order, indices, x, y: Int32Array.from(positions, (p) => (order.y as Int32Array)[p] as number) };
}
