import { attachDashboard, attachMetrics, Coordinator } from '@tfjs-ddp/coordinator';
import { heldOutOf } from '@tfjs-ddp/data';
import { exitWithin } from '../exit-watchdog.js';
import { jobConfigFrom } from '../job-flags.js';
import { readToken, TOKEN_ENV } from '../job-token.js';
import { createLogger } from '../logger.js';
import { createProgressView, progressHooks } from '../progress-view.js';
import type { CoordinatorFlags } from './coordinator.js';

/** What `tfjs-ddp coordinator` does once its flags are parsed; loaded only when that command runs. */
export async function runCoordinator(flags: CoordinatorFlags): Promise<void> {
  const logger = createLogger('coordinator', flags.logLevel);
  const token = readToken({ file: flags.tokenFile, value: process.env[TOKEN_ENV] });
  const config = jobConfigFrom(flags);
  const view = createProgressView(logger, { tty: flags.progress && Boolean(process.stderr.isTTY) });
  const coordinator = await Coordinator.start({
    host: flags.host,
    port: flags.port,
    ...(flags.tlsCert !== undefined && flags.tlsKey !== undefined ? { tls: { cert: flags.tlsCert, key: flags.tlsKey } } : {}),
    token,
    jobId: flags.jobId,
    workers: flags.workers,
    config,
    bnMode: flags.bn,
    dataSource: flags.dataSource,
    balance: flags.balance,
    compress: flags.compress,
    outDir: flags.out,
    checkReplicasEvery: flags.checkReplicas,
    waitTimeoutMs: flags.waitTimeout * 1000,
    stepTimeoutMs: flags.stepTimeout * 1000,
    heartbeatTimeoutMs: flags.heartbeatTimeout * 1000,
    minWorkers: flags.minWorkers,
    rejoinTimeoutMs: flags.rejoinTimeout * 1000,
    checkpointEvery: flags.checkpointEvery,
    keepCheckpoints: flags.keepCheckpoints,
    resume: flags.resume,
    resumeFallback: flags.resumeFallback,
    log: logger,
    hooks: progressHooks(logger, view),
  });
  attachMetrics(coordinator, { log: logger });
  attachDashboard(coordinator, { log: createLogger('dashboard', flags.logLevel) });
  const base = `${flags.tlsCert === undefined ? 'http' : 'https'}://${flags.host === '0.0.0.0' ? 'localhost' : flags.host}:${coordinator.port}`;
  logger.info({ port: coordinator.port }, `dashboard at ${base}/ and Prometheus metrics at /metrics`);
  // First SIGTERM/SIGINT: checkpoint the last committed step within --term-grace, then exit
  // 143/130; past the grace, or on a second signal, exit at once with the same code.
  let exitCode: number | undefined;
  const closeAndExit = (code: number): void => {
    // The close is bounded (a frozen worker's socket is dropped after a second); the watchdog covers the rest.
    exitWithin(code);
    void coordinator.close().finally(() => process.exit(code));
  };
  const stop = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGTERM' ? 143 : 130;
    if (exitCode !== undefined) {
      logger.warn({ signal }, `${signal} again: exiting at once without waiting for the checkpoint`);
      process.exit(exitCode);
    }
    exitCode = code;
    logger.warn({ signal, termGraceSec: flags.termGrace }, `${signal}: stopping after the step in flight to checkpoint the last committed step`);
    if (!coordinator.requestStop(`${signal} to the coordinator`)) {
      logger.warn({ signal }, `${signal}: not training, nothing to checkpoint; exiting`);
      closeAndExit(code);
      return;
    }
    setTimeout(() => {
      logger.error({ signal, termGraceSec: flags.termGrace }, `${signal}: no checkpoint was written within --term-grace ${flags.termGrace} s; exiting`);
      closeAndExit(code);
    }, flags.termGrace * 1000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let result: Awaited<ReturnType<Coordinator['run']>>;
  try {
    result = await coordinator.run();
  } catch (error) {
    if (exitCode !== undefined) {
      logger.error({ cause: (error as Error).message }, 'stopped by a signal; no checkpoint was written');
      process.exit(exitCode);
    }
    throw error;
  }
  view.stop();
  if (result.stopped !== undefined) {
    const saved = result.stopped.checkpointStep;
    const resumeHint = `tfjs-ddp coordinator --resume ${flags.out} (same flags) continues from it`;
    if (saved > 0) logger.warn({ checkpointStep: saved, committedSteps: result.steps }, `stopped: checkpoint of step ${saved} written; ${resumeHint}`);
    else logger.error({ committedSteps: result.steps }, 'stopped: no checkpoint was written');
    process.exit(exitCode ?? 143);
  }
  const { elapsedSec, samples, steps, test } = result;
  logger.info(
    { testAccuracy: test.accuracy, steps, samples, elapsedSec, samplesPerSec: samples / elapsedSec, model: result.modelPath, metrics: result.metricsPath },
    `done in ${elapsedSec.toFixed(1)} s: test accuracy ${(test.accuracy * 100).toFixed(2)} % on ${test.count} samples of ${heldOutOf(flags.dataset)}; ` +
      `model saved to ${result.modelPath}`,
  );
}
