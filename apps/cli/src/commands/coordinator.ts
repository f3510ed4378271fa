import { Command } from 'commander';
import { BALANCE_MODES, type BalanceMode } from '@tfjs-ddp/job';
import { COMPRESSIONS, DATA_SOURCES, type Compression, type DataSource } from '@tfjs-ddp/protocol';
import { oneOf, positiveInt, portNumberOrZero } from '../flags.js';
import { addCheckpointOptions, type CheckpointFlags } from '../checkpoint-flags.js';
import { addCommonOptions, addJobOptions, envOption, type CommonFlags, type JobFlags } from '../job-flags.js';
import { pemFile } from '../tls-files.js';

export interface CoordinatorFlags extends JobFlags, CheckpointFlags, CommonFlags {
  host: string;
  port: number;
  workers: number;
  tokenFile?: string;
  jobId?: string;
  dataSource: DataSource;
  balance: BalanceMode;
  compress: Compression;
  waitTimeout: number;
  stepTimeout: number;
  heartbeatTimeout: number;
  termGrace: number;
  minWorkers: number;
  rejoinTimeout: number;
  tlsCert?: string;
  tlsKey?: string;
}

/** The default port of the coordinator (WebSocket and HTTP on one port); the manifests use it too. */
export const DEFAULT_COORDINATOR_PORT = 7070;

const HELP = {
  description: 'run a training job over worker processes that join over WebSockets; serves a live dashboard (/), /metrics, /status and /healthz',
  dataSource: 'coordinator: samples are streamed to the workers; local: every worker reads its own copy (checked by fingerprint)',
  compress:
    'gradients between worker processes travel as bf16 or fp16, summed in float32 at every hop (threads of one process, ' +
    'SyncBN statistics, checksums, broadcasts and checkpoints stay float32); none: exact float32',
  balance: `shard sizes: ${BALANCE_MODES.join(' | ')} (speed: in proportion to each rank's measured throughput)`,
  termGrace: 'on SIGTERM/SIGINT, seconds to checkpoint the last committed step before exiting anyway (143/130)',
  heartbeatTimeout: 'a worker that answers no ping (one a second) for this long is lost: the ring is re-formed without it',
  rejoinTimeout: 'with fewer than --min-workers left, seconds to wait for workers to (re)join before giving up',
};

/**
 * `tfjs-ddp coordinator`: its flags are defined here from tfjs-free modules; the
 * coordinator package itself is loaded only when the command runs (run-coordinator.ts).
 */
export function coordinatorCommand(): Command {
  const command = new Command('coordinator').description(HELP.description);
  command
    .addOption(
      envOption('--port <n>', 'port for workers (WebSocket) and HTTP (/status, /healthz); 0 picks a free one', 'PORT')
        .argParser(portNumberOrZero)
        .default(DEFAULT_COORDINATOR_PORT),
    )
    .addOption(envOption('--host <address>', 'interface to listen on', 'HOST').default('0.0.0.0'))
    .addOption(envOption('--workers <n>', 'worker processes to wait for', 'WORKERS').argParser(positiveInt).makeOptionMandatory())
    .addOption(envOption('--token-file <path>', 'file whose first line is the job token (or set TFJS_DDP_TOKEN)', 'TOKEN_FILE'))
    .addOption(envOption('--job-id <id>', 'name of the job; workers that name another job are refused (default: random)', 'JOB_ID'))
    .addOption(
      envOption('--tls-cert <file>', 'PEM certificate (chain): serve wss:// and https:// (with --tls-key)', 'TLS_CERT').argParser(pemFile('--tls-cert')),
    )
    .addOption(envOption('--tls-key <file>', 'PEM private key of --tls-cert', 'TLS_KEY').argParser(pemFile('--tls-key')));
  addJobOptions(command, 'runs/job')
    .addOption(envOption('--data-source <where>', HELP.dataSource, 'DATA_SOURCE').argParser(oneOf(DATA_SOURCES)).default('local'))
    .addOption(envOption('--balance <mode>', HELP.balance, 'BALANCE').argParser(oneOf(BALANCE_MODES)).default('even'))
    .addOption(envOption('--compress <format>', HELP.compress, 'COMPRESS').argParser(oneOf(COMPRESSIONS)).default('none'))
    .addOption(envOption('--wait-timeout <s>', 'seconds to wait for all workers to join', 'WAIT_TIMEOUT').argParser(positiveInt).default(300))
    .addOption(envOption('--step-timeout <s>', 'seconds every rank may take for one step', 'STEP_TIMEOUT').argParser(positiveInt).default(300))
    .addOption(envOption('--term-grace <s>', HELP.termGrace, 'TERM_GRACE').argParser(positiveInt).default(25))
    .addOption(envOption('--heartbeat-timeout <s>', HELP.heartbeatTimeout, 'HEARTBEAT_TIMEOUT').argParser(positiveInt).default(3))
    .addOption(
      envOption('--min-workers <n>', 'training goes on while at least this many workers remain', 'MIN_WORKERS').argParser(positiveInt).default(1),
    )
    .addOption(envOption('--rejoin-timeout <s>', HELP.rejoinTimeout, 'REJOIN_TIMEOUT').argParser(positiveInt).default(60));
  addCheckpointOptions(command);
  addCommonOptions(command);
  return command.action(async (flags: CoordinatorFlags) => {
    if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
      command.error('error: --tls-cert and --tls-key go together', { exitCode: 2, code: 'tfjs-ddp.tls' });
    }
    const { runCoordinator } = await import('./run-coordinator.js');
    await runCoordinator(flags);
  });
}
