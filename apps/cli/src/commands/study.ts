import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { BUDGET_NAMES, rerenderStudyReport, runStudy, type BudgetName } from '@tfjs-ddp/study';
import { oneOf, positiveInt } from '../flags.js';
import { addLogLevelOption, envOption, type CommonFlags } from '../job-flags.js';
import { createLogger } from '../logger.js';

interface StudyFlags extends Pick<CommonFlags, 'logLevel'> {
  out: string;
  budget: BudgetName;
  workers: number;
  from?: string;
}

function formatEta(seconds: number | undefined): string {
  return seconds === undefined ? '?' : seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${Math.round(seconds)}s`;
}

export function studyCommand(): Command {
  const study = new Command('study').description('studies that train many models and write a report');
  const command = new Command('bn-dropout')
    .description('batch normalization and dropout on MNIST: placement, dropout rates, per-replica batch (local vs SyncBN), learning rates, test-time statistics and momentum; writes report.md, report.html and results.json')
    .addOption(envOption('--out <dir>', 'folder for the report', 'OUT').default('report'))
    .addOption(envOption('--budget <size>', `${BUDGET_NAMES.join(' | ')} (quick: about 20-30 minutes on 2 cores; full: hours; tiny: a smoke test)`, 'BUDGET').argParser(oneOf(BUDGET_NAMES)).default('quick'))
    .addOption(envOption('--workers <n>', 'training runs at once, each on its own thread', 'STUDY_WORKERS').argParser(positiveInt).default(Math.max(1, Math.min(2, availableParallelism()))))
    .option('--from <results.json>', 'only re-render the report from the results of an earlier run');
  addLogLevelOption(command);
  command.action(async (flags: StudyFlags) => {
    const logger = createLogger('study', flags.logLevel);
    if (flags.from !== undefined) {
      const files = await rerenderStudyReport({ from: flags.from, out: flags.out });
      logger.info({ files }, `report re-rendered into ${flags.out}`);
      return;
    }
    logger.info({ budget: flags.budget, workers: flags.workers, out: flags.out }, `BN/dropout study, ${flags.budget} budget`);
    const outcome = await runStudy({
      out: flags.out,
      budget: flags.budget,
      workers: flags.workers,
      onProgress: (p) => {
        if (p.phase === 'training' && p.run !== undefined) {
          logger.info({ done: p.done, total: p.total, run: p.run.key, accuracy: p.run.accuracy, etaSec: p.etaSec }, `run ${p.done}/${p.total} ${p.run.key}: accuracy ${(p.run.accuracy * 100).toFixed(1)} %, ETA ${formatEta(p.etaSec)}`);
        } else if (p.phase === 'report') logger.info('writing the report');
      },
    });
    logger.info({ files: outcome.files }, `report written to ${outcome.out}`);
  });
  return study.addCommand(command);
}
