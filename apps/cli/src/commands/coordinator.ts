import { Command } from 'commander';
import { attachDashboard, attachMetrics, Coordinator, readToken } from '@tfjs-ddp/coordinator';
import { BALANCE_MODES, type BalanceMode } from '@tfjs-ddp/job';
import { DATA_SOURCES, type DataSource } from '@tfjs-ddp/protocol';
import { nonNegativeInt, oneOf, positiveInt, portNumberOrZero } from '../flags.js';
import { TOKEN_ENV, addCommonOptions, addJobOptions, envOption, jobConfigFrom, type CommonFlags, type JobFlags } from '../job-flags.js';
import { createLogger } from '../logger.js';
import { createProgressView } from '../progress-view.js';
import { pemFile } from '../tls-files.js';

interface CoordinatorFlags extends JobFlags, CommonFlags {
  host: string;
  port: number;
  workers: number;
  tokenFile?: string;
  jobId?: string;
  dataSource: DataSource;
  balance: BalanceMode;
  waitTimeout: number;
  stepTimeout: number;
  heartbeatTimeout: number;
  minWorkers: number;
  rejoinTimeout: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  resume?: string;
  resumeFallback: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

/** The default port of the coordinator (WebSocket and HTTP on one port); the manifests use it too. */
export const DEFAULT_COORDINATOR_PORT = 7070;

export function coordinatorCommand(): Command {
  const command = new Command('coordinator').description('run a training job over worker processes that join over WebSockets; serves a live dashboard (/), /metrics, /status and /healthz');
  command
    .addOption(envOption('--port <n>', 'port for workers (WebSocket) and HTTP (/status, /healthz); 0 picks a free one', 'PORT').argParser(portNumberOrZero).default(DEFAULT_COORDINATOR_PORT))
    .addOption(envOption('--host <address>', 'interface to listen on', 'HOST').default('0.0.0.0'))
    .addOption(envOption('--workers <n>', 'worker processes to wait for', 'WORKERS').argParser(positiveInt).makeOptionMandatory())
    .addOption(envOption('--token-file <path>', 'file whose first line is the job token (or set TFJS_DDP_TOKEN)', 'TOKEN_FILE'))
    .addOption(envOption('--job-id <id>', 'name of the job; workers that name another job are refused (default: random)', 'JOB_ID'))
    .addOption(envOption('--tls-cert <file>', 'PEM certificate (chain): serve wss:// and https:// (with --tls-key)', 'TLS_CERT').argParser(pemFile('--tls-cert')))
    .addOption(envOption('--tls-key <file>', 'PEM private key of --tls-cert', 'TLS_KEY').argParser(pemFile('--tls-key')));
  addJobOptions(command, 'runs/job')
    .addOption(envOption('--data-source <where>', `coordinator: samples are streamed to the workers; local: every worker reads its own copy (checked by fingerprint)`, 'DATA_SOURCE').argParser(oneOf(DATA_SOURCES)).default('local'))
    .addOption(envOption('--balance <mode>', `shard sizes: ${BALANCE_MODES.join(' | ')} (speed: in proportion to each rank's measured throughput)`, 'BALANCE').argParser(oneOf(BALANCE_MODES)).default('even'))
    .addOption(envOption('--wait-timeout <s>', 'seconds to wait for all workers to join', 'WAIT_TIMEOUT').argParser(positiveInt).default(300))
    .addOption(envOption('--step-timeout <s>', 'seconds every rank may take for one step', 'STEP_TIMEOUT').argParser(positiveInt).default(300))
    .addOption(envOption('--heartbeat-timeout <s>', 'a worker that answers no ping (one a second) for this long is lost: the ring is re-formed without it', 'HEARTBEAT_TIMEOUT').argParser(positiveInt).default(3))
    .addOption(envOption('--min-workers <n>', 'training goes on while at least this many workers remain', 'MIN_WORKERS').argParser(positiveInt).default(1))
    .addOption(envOption('--rejoin-timeout <s>', 'with fewer than --min-workers left, seconds to wait for workers to (re)join before giving up', 'REJOIN_TIMEOUT').argParser(positiveInt).default(60))
    .addOption(envOption('--checkpoint-every <n>', 'also checkpoint after every n steps (always at each epoch end); 0: epoch ends only', 'CHECKPOINT_EVERY').argParser(nonNegativeInt).default(0))
    .addOption(envOption('--keep-checkpoints <n>', 'complete checkpoints kept under <out>/checkpoints', 'KEEP_CHECKPOINTS').argParser(positiveInt).default(3))
    .addOption(envOption('--resume <run>', 'continue the run in this folder (usually --out) from its newest good checkpoint; none there yet: start at step 1', 'RESUME'))
    .addOption(envOption('--resume-fallback', 'with --resume, pass over a corrupt newest checkpoint for the newest good one instead of refusing', 'RESUME_FALLBACK').default(false));
  addCommonOptions(command);
  return command.action(async (flags: CoordinatorFlags) => {
    if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) command.error('error: --tls-cert and --tls-key go together', { exitCode: 2, code: 'tfjs-ddp.tls' });
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
          logger.info({ epoch: epoch + 1, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss }, `epoch ${epoch + 1}: test accuracy ${(evaluation.accuracy * 100).toFixed(2)} %`);
        },
      },
    });
    attachMetrics(coordinator, { log: logger });
    attachDashboard(coordinator, { log: createLogger('dashboard', flags.logLevel) });
    logger.info({ port: coordinator.port }, `dashboard at ${flags.tlsCert === undefined ? 'http' : 'https'}://${flags.host === '0.0.0.0' ? 'localhost' : flags.host}:${coordinator.port}/ and Prometheus metrics at /metrics`);
    const stop = (): void => {
      logger.warn('interrupted: closing the coordinator');
      void coordinator.close().then(() => process.exit(130));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const result = await coordinator.run();
    view.stop();
    logger.info(
      { testAccuracy: result.test.accuracy, steps: result.steps, samples: result.samples, elapsedSec: result.elapsedSec, samplesPerSec: result.samples / result.elapsedSec, model: result.modelPath, metrics: result.metricsPath },
      `done in ${result.elapsedSec.toFixed(1)} s: test accuracy ${(result.test.accuracy * 100).toFixed(2)} %; model saved to ${result.modelPath}`,
    );
  });
}
