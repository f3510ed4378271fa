import { parentPort } from 'node:worker_threads';
import type { RankFailed, RankInit, RankOrder, RankReport } from './rank-messages.js';
import { RankRunner } from './rank-runner.js';
import { WorkerError } from './errors.js';

/**
 * Entry of a rank thread: one replica on its own tfjs backend. Takes an `init`, then
 * runs orders in arrival order. A collective failure (a lost peer, an aborted ring) is
 * reported and the thread waits for the next ring's regroup; any other error is fatal:
 * reported, and the thread exits.
 */
const port = parentPort;
if (port === null) throw new WorkerError('WORKER_ERR_BAD_OPTION', 'rank-thread.js must run in a worker thread');

function post(report: RankReport): void {
  port?.postMessage(report);
}

let chain: Promise<void> = Promise.resolve();

function failed(rank: number, generation: number, error: unknown): RankFailed {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  // Only a collective failure (a lost peer, an aborted ring) can be recovered from by a regroup.
  const fatal = !(typeof code === 'string' && code.startsWith('COLL_ERR_'));
  const report: RankFailed = { kind: 'failed', rank, generation, message, fatal };
  if (typeof code === 'string') report.code = code;
  return report;
}

port.once('message', (init: RankInit) => {
  chain = (async () => {
    const runner = await RankRunner.create(init);
    post({ kind: 'ready', rank: runner.currentRank, backend: runner.backend, parameters: runner.parameters, gradientBuckets: runner.gradientBuckets });
    let broken = false;
    port.on('message', (order: RankOrder) => {
      chain = chain.then(async () => {
        if (order.kind === 'regroup') {
          post(await runner.regroup(order));
          broken = false;
          return;
        }
        if (order.kind === 'finish') {
          post(await runner.finish(order));
          port.close();
          return;
        }
        // After a collective failure, orders of that ring are moot until the regroup.
        if (broken || !runner.current(order)) return;
        try {
          if (order.kind === 'step') post(await runner.step(order));
          else if (order.kind === 'evaluate') post(await runner.evaluate(order));
          else post(await runner.checkpoint(order));
        } catch (error) {
          const report = failed(runner.currentRank, order.generation, error);
          post(report);
          if (report.fatal) port.close();
          broken = true;
        }
      }).catch((error: unknown) => {
        post({ ...failed(runner.currentRank, -1, error), fatal: true });
        port.close();
      });
    });
  })().catch((error: unknown) => {
    post({ ...failed(init.rank, init.generation, error), fatal: true });
    port.close();
  });
});
