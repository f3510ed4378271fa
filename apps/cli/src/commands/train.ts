import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { BackendRequest } from '@tfjs-ddp/backend/backend-names';
import { addCheckpointOptions, type CheckpointFlags } from '../checkpoint-flags.js';
import { MONITORED_METRICS, type MonitoredMetric } from '@tfjs-ddp/job';
import { oneOf, positiveInt } from '../flags.js';
import { addCommonOptions, addJobOptions, allowCpuOption, backendOption, envOption, type CommonFlags, type JobFlags } from '../job-flags.js';

export interface TrainFlags extends JobFlags, CheckpointFlags, CommonFlags {
  backend: BackendRequest;
  threads: number;
  /** Rank processes instead of rank threads: one rank each, pinned to one device. */
  procs?: number;
  allowCpu: boolean;
  /** Epochs without improvement of the monitored metric after which training stops. */
  earlyStop?: number;
  saveBest: boolean;
  monitor: MonitoredMetric;
  termGrace: number;
}

const HELP = {
  procs:
    'rank processes on this machine instead of threads, one rank each, process i pinned to device i (CUDA_VISIBLE_DEVICES, ' +
    'TFJS_DDP_GPU_INDEX): one per GPU with a native GPU backend, whose tfjs cannot run in several threads of a process',
};

/** `tfjs-ddp train`: flags from tfjs-free modules; the trainer and worker load when the command runs (run-train.ts). */
export function trainCommand(): Command {
  const what = 'train a model with rank threads (or rank processes: --procs) on this machine and save it as a plain tfjs model folder';
  const command = new Command('train').description(what);
  const cores = availableParallelism();
  addJobOptions(command, 'runs/train')
    .addOption(
      envOption('--threads <n>', 'rank threads on this machine, one model replica each (default: one per core)', 'THREADS')
        .argParser(positiveInt)
        .default(cores, String(cores)),
    )
    .addOption(envOption('--procs <n>', HELP.procs, 'PROCS').argParser(positiveInt))
    .addOption(backendOption())
    .addOption(allowCpuOption())
    .addOption(
      envOption('--early-stop <epochs>', 'stop after this many epochs without improvement of the held-out --monitor metric (default: never)', 'EARLY_STOP')
        .argParser(positiveInt),
    )
    .addOption(envOption('--save-best', 'also save the model of the epoch with the best held-out --monitor metric to <out>/best', 'SAVE_BEST').default(false))
    .addOption(
      envOption('--monitor <metric>', `the held-out metric --early-stop and --save-best judge epochs by: ${MONITORED_METRICS.join(' or ')}`, 'MONITOR')
        .argParser(oneOf(MONITORED_METRICS))
        .default('loss'),
    )
    .addOption(
      envOption('--term-grace <s>', 'on SIGTERM/SIGINT, seconds to checkpoint the last committed step before exiting anyway (143/130)', 'TERM_GRACE')
        .argParser(positiveInt)
        .default(25),
    );
  addCheckpointOptions(command);
  addCommonOptions(command);
  return command.action(async (flags: TrainFlags, self: Command) => {
    if (flags.procs !== undefined) {
      const conflict = procsConflict(flags, self);
      if (conflict !== undefined) self.error(`error: ${conflict}`, { exitCode: 2, code: 'tfjs-ddp.procsConflict' });
      const { runTrainProcs } = await import('./run-train-procs.js');
      return runTrainProcs(flags, flags.procs);
    }
    const { runTrain } = await import('./run-train.js');
    await runTrain(flags);
  });
}

/** Why these flags cannot go with --procs, if they cannot. */
function procsConflict(flags: TrainFlags, command: Command): string | undefined {
  const source = command.getOptionValueSource('threads');
  if (source === 'cli' || source === 'env') return '--procs and --threads: with --procs every rank is a process of its own, with one thread';
  // The coordinator that --procs runs does not judge epochs yet; refusing beats ignoring the flag.
  if (flags.earlyStop !== undefined || flags.saveBest) return '--early-stop and --save-best do not work with --procs yet: use --threads';
  return undefined;
}
