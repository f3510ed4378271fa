import { LAUNCH_INDEX_ENV, runWorker } from '@tfjs-ddp/worker';
import { CliError } from '../errors.js';
import { readToken, TOKEN_ENV } from '../job-token.js';
import { createLogger } from '../logger.js';
import type { WorkerFlags } from './worker.js';

/** What `tfjs-ddp worker` does once its flags are parsed; loaded only when that command runs. */
export async function runWorkerCommand(flags: WorkerFlags): Promise<void> {
  const logger = createLogger('worker', flags.logLevel);
  // A rank process of `train --procs` or `worker --procs` shares an IPC channel with its
  // launcher, used for nothing but this: it closes when the launcher dies, however it dies
  // (SIGKILL included), and a rank must not train on for no one. Unref'd: it holds nothing open.
  if (process.channel !== undefined) {
    process.channel.unref();
    process.once('disconnect', () => {
      logger.error('the process that launched this rank process is gone: exiting');
      process.exit(1);
    });
  }
  const token = readToken({ file: flags.tokenFile, value: process.env[TOKEN_ENV] });
  // SIGTERM (a drained or preempted pod): leave the ring cleanly, so the coordinator regroups
  // without waiting for a heartbeat deadline, and exit 143; a second SIGTERM exits at once.
  const leaving = new AbortController();
  const onTerm = (): void => {
    if (leaving.signal.aborted) process.exit(143);
    logger.warn('SIGTERM: leaving the job');
    leaving.abort('SIGTERM to the worker');
    // The leave message and the teardown get a moment; past it, exit anyway.
    setTimeout(() => process.exit(143), 3_000).unref();
  };
  process.on('SIGTERM', onTerm);
  let result: Awaited<ReturnType<typeof runWorker>>;
  try {
    result = await runWorker({
      leave: leaving.signal,
      coordinator: flags.coordinator,
      token,
      jobId: flags.jobId,
      threads: flags.threads,
      backend: flags.backend,
      allowCpu: flags.allowCpu,
      launchIndex: launchIndexFromEnv(),
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
  } catch (error) {
    if (leaving.signal.aborted) {
      logger.warn('left the job (SIGTERM)');
      process.exit(143);
    }
    throw error;
  }
  logger.info({ jobId: result.jobId, processRank: result.processRank, ranks: result.ranks }, `job ${result.jobId} done`);
}

/** The index `train --procs` / `worker --procs` gave this rank process, if one did. */
function launchIndexFromEnv(): number | undefined {
  const raw = process.env[LAUNCH_INDEX_ENV];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) > 4095) {
    throw new CliError('CLI_ERR_LAUNCH_INDEX', `${LAUNCH_INDEX_ENV} must be a process index (0..4095), got ${JSON.stringify(raw.slice(0, 32))}`);
  }
  return Number(raw);
}
