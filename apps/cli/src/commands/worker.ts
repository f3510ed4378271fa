import { Command } from 'commander';
import { availableParallelism, hostname } from 'node:os';
import type { BackendRequest } from '@tfjs-ddp/backend/backend-names';
import { nonNegativeInt, positiveInt, portNumberOrZero, wsUrl } from '../flags.js';
import { addCommonOptions, allowCpuOption, backendOption, envOption, type CommonFlags } from '../job-flags.js';
import { pemFile } from '../tls-files.js';

export interface WorkerFlags extends CommonFlags {
  coordinator: string;
  tokenFile?: string;
  jobId?: string;
  threads: number;
  /** Rank processes instead of one worker process: each a worker of one rank thread, pinned to one device. */
  procs?: number;
  backend: BackendRequest;
  allowCpu: boolean;
  advertiseHost: string;
  listenHost: string;
  peerPort: number;
  connectTimeout: number;
  coordinatorTimeout: number;
  tlsCa?: string;
  model?: string;
  dataset?: string;
}

const HELP = {
  threads: 'rank threads, one model replica each (default: one per core)',
  procs:
    'run N worker processes of one rank thread each instead, process i pinned to device i (CUDA_VISIBLE_DEVICES, TFJS_DDP_GPU_INDEX; ' +
    'peer ports --peer-port + i): one per GPU',
  advertiseHost: 'host name or address the ring peers reach this worker at (in Kubernetes: the pod DNS name)',
  connectTimeout: 'seconds to keep trying to reach the coordinator (also when it comes back after a restart)',
  model: "this worker's copy of the job's model file (module or model.json); required when the coordinator names a file, not for zoo models",
  dataset: "this worker's copy of the job's data (npy:…, csv:…, images:…); required when the coordinator names files with --data-source local",
  tlsCa: "PEM certificate (or CA) to trust for a wss:// coordinator instead of the system's CAs",
};

/** `tfjs-ddp worker`: flags from tfjs-free modules; the worker package loads when the command runs (run-worker.ts). */
export function workerCommand(): Command {
  const cores = availableParallelism();
  const command = new Command('worker')
    .description("join a coordinator's job with rank threads on this machine (or rank processes: --procs)")
    .addOption(
      envOption('--coordinator <url>', "the coordinator's WebSocket URL, e.g. ws://10.0.0.5:7070", 'COORDINATOR').argParser(wsUrl).makeOptionMandatory(),
    )
    .addOption(envOption('--token-file <path>', 'file whose first line is the job token (or set TFJS_DDP_TOKEN)', 'TOKEN_FILE'))
    .addOption(envOption('--job-id <id>', 'join only this job', 'JOB_ID'))
    .addOption(envOption('--threads <n>', HELP.threads, 'THREADS').argParser(positiveInt).default(cores, String(cores)))
    .addOption(envOption('--procs <n>', HELP.procs, 'PROCS').argParser(positiveInt))
    .addOption(backendOption())
    .addOption(allowCpuOption())
    .addOption(envOption('--advertise-host <host>', HELP.advertiseHost, 'ADVERTISE_HOST').default(hostname()))
    .addOption(envOption('--listen-host <address>', 'interface to listen on for ring peers', 'LISTEN_HOST').default('0.0.0.0'))
    .addOption(envOption('--peer-port <n>', 'port for ring peer links (0: any free port)', 'PEER_PORT').argParser(portNumberOrZero).default(0))
    .addOption(envOption('--connect-timeout <s>', HELP.connectTimeout, 'CONNECT_TIMEOUT').argParser(nonNegativeInt).default(120))
    .addOption(
      envOption('--coordinator-timeout <s>', 'a coordinator silent (no ping) for this long is gone: reconnect', 'COORDINATOR_TIMEOUT')
        .argParser(positiveInt)
        .default(10),
    )
    // No environment variable: what runs code on this machine is given on its command line, visibly.
    .option('--model <spec>', HELP.model)
    .option('--dataset <spec>', HELP.dataset)
    .addOption(envOption('--tls-ca <file>', HELP.tlsCa, 'TLS_CA').argParser(pemFile('--tls-ca')));
  addCommonOptions(command);
  return command.action(async (flags: WorkerFlags, self: Command) => {
    if (flags.procs !== undefined) {
      const source = self.getOptionValueSource('threads');
      const conflict = '--procs and --threads: with --procs every rank is a process of its own, with one thread';
      if (source === 'cli' || source === 'env') self.error(`error: ${conflict}`, { exitCode: 2 });
      const { runWorkerProcs } = await import('./run-worker-procs.js');
      return runWorkerProcs(flags, flags.procs);
    }
    const { runWorkerCommand } = await import('./run-worker.js');
    await runWorkerCommand(flags);
  });
}
