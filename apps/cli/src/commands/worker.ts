import { Command } from 'commander';
import { availableParallelism, hostname } from 'node:os';
import type { BackendRequest } from '@tfjs-ddp/backend';
import { readToken } from '@tfjs-ddp/coordinator';
import { runWorker } from '@tfjs-ddp/worker';
import { nonNegativeInt, positiveInt, portNumberOrZero, wsUrl } from '../flags.js';
import { TOKEN_ENV, addCommonOptions, backendOption, envOption, type CommonFlags } from '../job-flags.js';
import { createLogger } from '../logger.js';
import { pemFile } from '../tls-files.js';

interface WorkerFlags extends CommonFlags {
  coordinator: string;
  tokenFile?: string;
  jobId?: string;
  threads: number;
  backend: BackendRequest;
  advertiseHost: string;
  listenHost: string;
  peerPort: number;
  connectTimeout: number;
  coordinatorTimeout: number;
  tlsCa?: string;
  model?: string;
  dataset?: string;
}

export function workerCommand(): Command {
  const command = new Command('worker')
    .description("join a coordinator's job with rank threads on this machine")
    .addOption(envOption('--coordinator <url>', "the coordinator's WebSocket URL, e.g. ws://10.0.0.5:7070", 'COORDINATOR').argParser(wsUrl).makeOptionMandatory())
    .addOption(envOption('--token-file <path>', 'file whose first line is the job token (or set TFJS_DDP_TOKEN)', 'TOKEN_FILE'))
    .addOption(envOption('--job-id <id>', 'join only this job', 'JOB_ID'))
    .addOption(envOption('--threads <n>', 'rank threads, one model replica each (default: one per core)', 'THREADS').argParser(positiveInt).default(availableParallelism(), String(availableParallelism())))
    .addOption(backendOption())
    .addOption(envOption('--advertise-host <host>', 'host name or address the ring peers reach this worker at (in Kubernetes: the pod DNS name)', 'ADVERTISE_HOST').default(hostname()))
    .addOption(envOption('--listen-host <address>', 'interface to listen on for ring peers', 'LISTEN_HOST').default('0.0.0.0'))
    .addOption(envOption('--peer-port <n>', 'port for ring peer links (0: any free port)', 'PEER_PORT').argParser(portNumberOrZero).default(0))
    .addOption(envOption('--connect-timeout <s>', 'seconds to keep trying to reach the coordinator (also when it comes back after a restart)', 'CONNECT_TIMEOUT').argParser(nonNegativeInt).default(120))
    .addOption(envOption('--coordinator-timeout <s>', 'a coordinator silent (no ping) for this long is gone: reconnect', 'COORDINATOR_TIMEOUT').argParser(positiveInt).default(10))
    // No environment variable: what runs code on this machine is given on its command line, visibly.
    .option('--model <spec>', "this worker's copy of the job's model file (module or model.json); required when the coordinator names a file, not for zoo models")
    .option('--dataset <spec>', "this worker's copy of the job's data (npy:…); required when the coordinator names files with --data-source local")
    .addOption(envOption('--tls-ca <file>', 'PEM certificate (or CA) to trust for a wss:// coordinator instead of the system\'s CAs', 'TLS_CA').argParser(pemFile('--tls-ca')));
  addCommonOptions(command);
  return command.action(async (flags: WorkerFlags) => {
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
  });
}
