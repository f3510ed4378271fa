import { runWorker } from '@tfjs-ddp/worker';
import { readToken, TOKEN_ENV } from '../job-token.js';
import { createLogger } from '../logger.js';
import type { WorkerFlags } from './worker.js';

/** What `tfjs-ddp worker` does once its flags are parsed; loaded only when that command runs. */
export async function runWorkerCommand(flags: WorkerFlags): Promise<void> {
  const logger = createLogger('worker', flags.logLevel);
  const token = readToken({ file: flags.tokenFile, value: process.env[TOKEN_ENV] });
  const result = await runWorker({
    coordinator: flags.coordinator,
    token,
    jobId: flags.jobId,
    threads: flags.threads,
    backend: flags.backend,
    advertiseHost: flags.advertiseHost,
    listenHost: flags.listenHost,
    peerPort: flags.peerPort,
    connectTimeoutMs: flags.connectTimeout * 1000,
    watchdogMs: flags.coordinatorTimeout * 1000,
    tlsCa: flags.tlsCa,
    model: flags.model,
    dataset: flags.dataset,
    log: logger,
  });
  logger.info({ jobId: result.jobId, processRank: result.processRank, ranks: result.ranks }, `job ${result.jobId} done`);
}
