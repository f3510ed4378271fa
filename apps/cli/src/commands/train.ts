import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { BackendRequest } from '@tfjs-ddp/backend/backend-names';
import { addCheckpointOptions, type CheckpointFlags } from '../checkpoint-flags.js';
import { MONITORED_METRICS, type MonitoredMetric } from '@tfjs-ddp/job';
import { oneOf, positiveInt } from '../flags.js';
import { addCommonOptions, addJobOptions, backendOption, envOption, type CommonFlags, type JobFlags } from '../job-flags.js';

export interface TrainFlags extends JobFlags, CheckpointFlags, CommonFlags {
  backend: BackendRequest;
  threads: number;
  /** Epochs without improvement of the monitored metric after which training stops. */
  earlyStop?: number;
  saveBest: boolean;
  monitor: MonitoredMetric;
  termGrace: number;
}


/** `tfjs-ddp train`: flags from tfjs-free modules; the trainer and worker load when the command runs (run-train.ts). */
export function trainCommand(): Command {
  const command = new Command('train').description('train a model with rank threads on this machine and save it as a plain tfjs model folder');
  const cores = availableParallelism();
  addJobOptions(command, 'runs/train')
    .addOption(
      envOption('--threads <n>', 'rank threads on this machine, one model replica each (default: one per core)', 'THREADS')
        .argParser(positiveInt)
        .default(cores, String(cores)),
    )
    .addOption(backendOption())
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
  return command.action(async (flags: TrainFlags) => {
    const { runTrain } = await import('./run-train.js');
    await runTrain(flags);
  });
}
