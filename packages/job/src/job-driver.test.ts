import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleDigest, type RankStepDone } from '@tfjs-ddp/protocol';
import { JobDriver, MAX_PREFETCH, type EndpointStep, type JobEndpoint } from './job-driver.js';
import { StepSchedule } from './step-schedule.js';

/**
 * One endpoint of two ranks that answers a step only when the test lets it (a worker
 * behind a link), each report saying it waited `waitMs` for that step's order.
 */
async function runSlowEndpoint(waitMs: number, steps: number): Promise<{ maxInFlight: number; prefetchDepth: number }> {
  const schedule = new StepSchedule({ size: 64 * steps, globalBatch: 8, seed: 1, epochs: 1, maxSteps: steps });
  const orders: EndpointStep[] = [];
  const sentAt: number[] = [];
  // The driver checks that reported times fit in the time since the order left: really take them.
  const computeMs = 2;
  const endpoint: JobEndpoint = {
    rankOffset: 0,
    ranks: 2,
    sendStep: (order) => {
      orders.push(order);
      sentAt.push(performance.now());
    },
    sendEvaluate: (epoch) => setImmediate(() => driver.evaluated(0, epoch, { loss: 0, accuracy: 0, count: 1 })),
    sendFinish: () => setImmediate(() => driver.finished(0)),
  };
  // The endpoint's callbacks run later (setImmediate), once the driver exists.
  const driver = new JobDriver({ schedule, endpoints: [endpoint], stepTimeoutMs: 10_000 });
  const running = driver.run();
  let answered = 0;
  let maxInFlight = 0;
  while (answered < steps) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const order = orders[answered];
    if (order === undefined || performance.now() - (sentAt[answered] ?? 0) < computeMs + waitMs + 1) continue;
    maxInFlight = Math.max(maxInFlight, orders.length - answered);
    const reports: RankStepDone[] = order.shards.map((shard, rank) => ({
      rank, lossSum: 0, correct: 0, count: shard.length, computeMs, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs, sampleDigest: sampleDigest(shard),
    }));
    driver.stepDone(order.step, reports);
    answered++;
  }
  await running;
  return { maxInFlight, prefetchDepth: driver.prefetchDepth };
}

test('prefetch deepens while ranks wait for their orders (up to MAX_PREFETCH) and stays at 2 while they do not', async () => {
  const starved = await runSlowEndpoint(10, 20);
  const fed = await runSlowEndpoint(0, 20);
  console.log(`# starved ranks: ${starved.maxInFlight} steps in flight at most (depth ${starved.prefetchDepth}); fed ranks: ${fed.maxInFlight} (depth ${fed.prefetchDepth})`);
  assert.equal(starved.prefetchDepth, MAX_PREFETCH);
  assert.equal(starved.maxInFlight, MAX_PREFETCH + 1);
  assert.equal(fed.prefetchDepth, 2);
  assert.equal(fed.maxInFlight, 3);
});
