import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { BUDGET_NAMES, type BudgetName } from '@tfjs-ddp/study/budget';
import { oneOf, positiveInt } from '../flags.js';
import { addLogLevelOption, envOption, type CommonFlags } from '../job-flags.js';

export interface StudyFlags extends Pick<CommonFlags, 'logLevel'> {
  out: string;
  budget: BudgetName;
  workers: number;
  from?: string;
}

const DESCRIPTION = [
  'batch normalization and dropout on MNIST: placement, dropout position, per-replica batch on rank threads (local BN, sync:K, SyncBN),',
  'learning rates with and without warmup, test-time statistics and momentum, activations and depth; writes report.md, report.html and results.json',
].join(' ');

/** `tfjs-ddp study bn-dropout`: flags from tfjs-free modules; the study package loads when the command runs (run-study.ts). */
export function studyCommand(): Command {
  const study = new Command('study').description('studies that train many models and write a report');
  const budgetHelp =
    `${BUDGET_NAMES.join(' | ')} (standard: the committed report, expected about 40 minutes on 2 cores; quick: about 15; ` +
    'full: hours, for a bigger machine; tiny: a smoke test; each prints its expected time before it starts)';
  const workers = Math.max(1, Math.min(2, availableParallelism()));
  const command = new Command('bn-dropout')
    .description(DESCRIPTION)
    .addOption(envOption('--out <dir>', 'folder for the report', 'OUT').default('report'))
    .addOption(envOption('--budget <size>', budgetHelp, 'BUDGET').argParser(oneOf(BUDGET_NAMES)).default('standard'))
    .addOption(envOption('--workers <n>', 'training runs at once, each on its own thread', 'STUDY_WORKERS').argParser(positiveInt).default(workers))
    .option('--from <results.json>', 'only re-render the report from the results of an earlier run');
  addLogLevelOption(command);
  command.action(async (flags: StudyFlags) => {
    const { runStudyCommand } = await import('./run-study.js');
    await runStudyCommand(flags);
  });
  return study.addCommand(command);
}
