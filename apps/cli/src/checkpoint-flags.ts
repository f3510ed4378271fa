import type { Command } from 'commander';
import { envOption, nonNegativeInt, positiveInt } from './flags.js';

/**
 * Checkpoint and resume flags, shared by `coordinator` and `train`: both write the same
 * checkpoint folders under --out and resume them by the same rules.
 */
export interface CheckpointFlags {
  checkpointEvery: number;
  keepCheckpoints: number;
  resume?: string;
  resumeFallback: boolean;
}

const HELP = {
  checkpointEvery: 'also checkpoint after every n steps (always at each epoch end); 0: epoch ends only',
  keepCheckpoints: 'complete checkpoints kept under <out>/checkpoints',
  resume: 'continue the run in this folder (usually --out) from its newest good checkpoint; none there yet: start at step 1',
  resumeFallback: 'with --resume, pass over a corrupt newest checkpoint for the newest good one instead of refusing',
};

export function addCheckpointOptions(command: Command): Command {
  return command
    .addOption(envOption('--checkpoint-every <n>', HELP.checkpointEvery, 'CHECKPOINT_EVERY').argParser(nonNegativeInt).default(0))
    .addOption(envOption('--keep-checkpoints <n>', HELP.keepCheckpoints, 'KEEP_CHECKPOINTS').argParser(positiveInt).default(3))
    .addOption(envOption('--resume <run>', HELP.resume, 'RESUME'))
    .addOption(envOption('--resume-fallback', HELP.resumeFallback, 'RESUME_FALLBACK').default(false));
}
