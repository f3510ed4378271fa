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

test('stopAfter holds the next epoch until its evaluation is judged, and a stop ends the run there with a finish', async () => {
  // 4 epochs of 3 steps; the evaluation's loss falls, then rises: stop after epoch 2 (0-based 1).
  const schedule = new StepSchedule({ size: 24, globalBatch: 8, seed: 1, epochs: 4 });
  const losses = [1, 2, 3, 4];
  const events: string[] = [];
  let finished = false;
  const endpoint: JobEndpoint = {
    rankOffset: 0,
    ranks: 1,
    sendStep: (order) => {
      events.push(`step ${order.step}`);
      setImmediate(() => {
        const shard = order.shards[0] as Int32Array;
        const report = { rank: 0, lossSum: 0, correct: 0, count: shard.length, computeMs: 0, syncBnMs: 0, allReduceMs: 0, applyMs: 0, waitMs: 0 };
        driver.stepDone(order.step, [{ ...report, sampleDigest: sampleDigest(shard) }]);
      });
    },
    sendEvaluate: (epoch) => setImmediate(() => driver.evaluated(0, epoch, { loss: losses[epoch] as number, accuracy: 0, count: 1 })),
    sendFinish: () => {
      finished = true;
      setImmediate(() => driver.finished(0));
    },
  };
  const driver = new JobDriver({
    schedule,
    endpoints: [endpoint],
    prefetch: MAX_PREFETCH,
    stepTimeoutMs: 10_000,
    hooks: { onEpochEnd: (epoch) => events.push(`judged ${epoch}`) },
    stopAfter: (epoch) => epoch === 1,
  });
  const result = await driver.run();
  console.log(`# events: ${events.join(', ')}`);
  // With a prefetch of 8 and no hold, steps 3.. would have gone out before epoch 0 was judged.
  assert.deepEqual(events, ['step 0', 'step 1', 'step 2', 'judged 0', 'step 3', 'step 4', 'step 5', 'judged 1']);
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.steps, 6);
  assert.equal(finished, true);
});
