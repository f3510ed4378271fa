import { parentPort } from 'node:worker_threads';
import { joinThreadGroup } from '@tfjs-ddp/collective';
import type { RankFailed, RankInit, RankOrder, RankReport } from './rank-messages.js';
import { RankRunner } from './rank-runner.js';

/**
 * Entry of a rank thread: one replica on its own tfjs backend. Takes an `init`, then
 * runs orders in arrival order; on any error it reports and exits (the parent then
 * aborts the thread group, so the other ranks' pending collectives fail at once).
 */
const port = parentPort;
if (port === null) throw new Error('rank-thread.js must run in a worker thread');

function post(report: RankReport): void {
  port?.postMessage(report);
}

let rank = -1;
let chain: Promise<void> = Promise.resolve();

function fail(error: unknown): void {
  const failed: RankFailed = { kind: 'failed', rank, message: error instanceof Error ? error.message : String(error) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') failed.code = code;
  post(failed);
  port?.close();
}

port.once('message', (init: RankInit) => {
  rank = init.rank;
  chain = (async () => {
    const communicator = joinThreadGroup(init.communicator, init.localRank);
    const runner = await RankRunner.create(init, communicator);
    post({ kind: 'ready', rank, backend: runner.backend, parameters: runner.parameters });
    port.on('message', (order: RankOrder) => {
      chain = chain.then(async () => {
        switch (order.kind) {
          case 'step':
            post(runner.step(order));
            break;
          case 'evaluate':
            post(runner.evaluate(order));
            break;
          case 'finish':
            post(await runner.finish(order));
            port.close();
            break;
        }
      }).catch((error: unknown) => fail(error));
    });
  })().catch((error: unknown) => fail(error));
});
