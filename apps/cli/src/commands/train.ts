import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { BackendRequest } from '@tfjs-ddp/backend';
import { MetricsLog } from '@tfjs-ddp/coordinator';
import { bnRecalibrationOf, describeBnRecalibration } from '@tfjs-ddp/trainer';
import { runLocalJob } from '@tfjs-ddp/worker';
import { positiveInt } from '../flags.js';
import { addCommonOptions, addJobOptions, backendOption, envOption, jobConfigFrom, meanOverRanks, type CommonFlags, type JobFlags } from '../job-flags.js';
import { createLogger } from '../logger.js';
import { createProgressView } from '../progress-view.js';

interface TrainFlags extends JobFlags, CommonFlags {
  backend: BackendRequest;
  threads: number;
}

export function trainCommand(): Command {
  const command = new Command('train').description('train a model with rank threads on this machine and save it as a plain tfjs model folder');
  addJobOptions(command, 'runs/train')
    .addOption(envOption('--threads <n>', 'rank threads on this machine, one model replica each (default: one per core)', 'THREADS').argParser(positiveInt).default(availableParallelism(), String(availableParallelism())))
    .addOption(backendOption());
  addCommonOptions(command);
  return command.action(async (flags: TrainFlags) => {
    const logger = createLogger('train', flags.logLevel);
    const config = jobConfigFrom(flags);
    logger.info({ config, threads: flags.threads, bn: flags.bn }, `training ${config.model} on ${config.dataset} with ${flags.threads} rank thread(s), batch norm ${flags.bn}`);
    const view = createProgressView(logger, { tty: flags.progress && Boolean(process.stderr.isTTY) });
    const metrics = new MetricsLog(flags.out);
    const result = await runLocalJob({
      config,
      threads: flags.threads,
      bnMode: flags.bn,
      backend: flags.backend,
      outDir: flags.out,
      checkReplicasEvery: flags.checkReplicas,
      hooks: {
        onReady: (backend) => logger.info({ backend: backend.name, reason: backend.reason, attempts: backend.attempts }, `backend ${backend.name}: ${backend.reason}`),
        onStep: (p, reports) => {
          metrics.step(p, reports);
          view.update(p);
        },
        onEpochEnd: (epoch, evaluation) => {
          metrics.epoch(epoch, evaluation);
          view.stop();
          logRecalibration(logger, evaluation, { epoch: epoch + 1 });
          logger.info({ epoch: epoch + 1, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss }, `epoch ${epoch + 1}: test accuracy ${(evaluation.accuracy * 100).toFixed(2)} %`);
        },
      },
    });
    view.stop();
    logRecalibration(logger, result.test, { final: true });
    logger.info(
      { testAccuracy: result.test.accuracy, testLoss: result.test.loss, steps: result.steps, samples: result.samples, elapsedSec: result.elapsedSec, samplesPerSec: result.samples / result.elapsedSec, meanStepMs: meanOverRanks(result.meanReports), model: result.modelPath },
      `done in ${result.elapsedSec.toFixed(1)} s: test accuracy ${(result.test.accuracy * 100).toFixed(2)} % on ${result.test.count} held-out samples; model saved to ${result.modelPath}`,
    );
  });
}

/** Issue 20: that BN recalibration ran before an evaluation, and its cost. */
function logRecalibration(logger: ReturnType<typeof createLogger>, evaluation: object, context: Record<string, unknown>): void {
  const recalibration = bnRecalibrationOf(evaluation);
  if (recalibration !== undefined) logger.info({ ...context, bnRecalibration: recalibration }, describeBnRecalibration(recalibration));
}
