import { rerenderStudyReport, runStudy } from '@tfjs-ddp/study';
import { createLogger } from '../logger.js';
import type { StudyFlags } from './study.js';

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s` : `${Math.round(seconds)}s`;
}

/** What `tfjs-ddp study bn-dropout` does once its flags are parsed; loaded only when that command runs. */
export async function runStudyCommand(flags: StudyFlags): Promise<void> {
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
      if (p.phase === 'training' && p.done === 0 && p.expectedSec !== undefined) {
        const { total, expectedSec } = p;
        logger.info({ total, expectedSec }, `${total} runs, expected to take about ${formatEta(expectedSec)} (from measured per-run times)`);
      } else if (p.phase === 'training' && p.run !== undefined) {
        const { done, total, etaSec } = p;
        const { key, accuracy, outcome } = p.run;
        const failed = outcome === 'collapsed' || outcome === 'diverged' ? ` (${outcome})` : '';
        const line = `run ${done}/${total} ${key}: accuracy ${(accuracy * 100).toFixed(1)} %${failed}, ETA ${formatEta(etaSec)}`;
        logger.info({ done, total, run: key, accuracy, outcome, etaSec }, line);
      } else if (p.phase === 'report') logger.info('writing the report');
    },
  });
  logger.info({ files: outcome.files }, `report written to ${outcome.out}`);
}
