import { attachDashboard, attachMetrics, Coordinator } from '@tfjs-ddp/coordinator';
import { jobConfigFrom } from '../job-flags.js';
import { readToken, TOKEN_ENV } from '../job-token.js';
import { createLogger } from '../logger.js';
import { createProgressView } from '../progress-view.js';
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
    hooks: {
      onStep: (p) => view.update(p),
      onEpochEnd: (epoch, evaluation) => {
        view.stop();
        const accuracy = `${(evaluation.accuracy * 100).toFixed(2)} %`;
        logger.info({ epoch: epoch + 1, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss }, `epoch ${epoch + 1}: test accuracy ${accuracy}`);
      },
    },
  });
  attachMetrics(coordinator, { log: logger });
  attachDashboard(coordinator, { log: createLogger('dashboard', flags.logLevel) });
  const base = `${flags.tlsCert === undefined ? 'http' : 'https'}://${flags.host === '0.0.0.0' ? 'localhost' : flags.host}:${coordinator.port}`;
  logger.info({ port: coordinator.port }, `dashboard at ${base}/ and Prometheus metrics at /metrics`);
  const stop = (): void => {
    logger.warn('interrupted: closing the coordinator');
    void coordinator.close().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const result = await coordinator.run();
  view.stop();
  const { elapsedSec, samples, steps, test } = result;
  logger.info(
    { testAccuracy: test.accuracy, steps, samples, elapsedSec, samplesPerSec: samples / elapsedSec, model: result.modelPath, metrics: result.metricsPath },
    `done in ${elapsedSec.toFixed(1)} s: test accuracy ${(test.accuracy * 100).toFixed(2)} %; model saved to ${result.modelPath}`,
  );
}
