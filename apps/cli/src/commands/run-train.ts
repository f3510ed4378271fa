import { findResumePoint, JobCheckpoints, MetricsLog } from '@tfjs-ddp/coordinator';
import path from 'node:path';
import { heldOutOf } from '@tfjs-ddp/data';
import { SerialTasks, ValidationMonitor, writeModelFolder } from '@tfjs-ddp/job';
import { bnRecalibrationOf, describeBnRecalibration } from '@tfjs-ddp/trainer';
import { JobStopped, runLocalJob } from '@tfjs-ddp/worker';
import { jobConfigFrom, meanOverRanks } from '../job-flags.js';
import { exitWithin } from '../exit-watchdog.js';
import { createLogger } from '../logger.js';
import { createProgressView } from '../progress-view.js';
import type { TrainFlags } from './train.js';

/** What `tfjs-ddp train` does once its flags are parsed; loaded only when that command runs. */
export async function runTrain(flags: TrainFlags): Promise<void> {
  const logger = createLogger('train', flags.logLevel);
  // Before the first log line: a signal that comes once "training …" is printed must find its handler.
  const stop = new AbortController();
  const exitCode = handleStopSignals(stop, flags.termGrace, logger);
  const config = jobConfigFrom(flags);
  const what = `training ${config.model} on ${config.dataset} with ${flags.threads} rank thread(s), batch norm ${flags.bn}`;
  logger.info({ config, threads: flags.threads, bn: flags.bn }, what);
  const view = createProgressView(logger, { tty: flags.progress && Boolean(process.stderr.isTTY) });
  const monitor = flags.earlyStop === undefined && !flags.saveBest ? undefined : new ValidationMonitor({ metric: flags.monitor, patience: flags.earlyStop });
  const bestDir = path.join(flags.out, 'best');
  // Written one after another; the last one is on disk (or its failure fails the run) before the run's end is logged.
  const bestSaves = new SerialTasks();
  let metrics: MetricsLog | undefined;
  let checkpoints: JobCheckpoints | undefined;
  const running = runLocalJob({
    stop: stop.signal,
    config,
    threads: flags.threads,
    bnMode: flags.bn,
    backend: flags.backend,
    allowCpu: flags.allowCpu,
    outDir: flags.out,
    checkReplicasEvery: flags.checkReplicas,
    ...(monitor === undefined ? {} : { monitor }),
    ...(flags.saveBest
      ? {
          onBestModel: (epoch: number, model: { modelJson: string; weights: Uint8Array }) => {
            bestSaves.add(async () => {
              await writeModelFolder(bestDir, model.modelJson, model.weights);
              logger.info({ epoch: epoch + 1, bestModel: bestDir }, `epoch ${epoch + 1} is the best so far by held-out ${flags.monitor}: saved to ${bestDir}`);
            });
          },
        }
      : {}),
    // The coordinator's checkpoints, refusals and resume rules, with the ranks in this process.
    checkpointing: async (jobConfig, schedule) => {
      const resumed = flags.resume === undefined ? undefined : await findResumePoint(flags.resume, jobConfig, flags.resumeFallback, logger);
      metrics = new MetricsLog(flags.out, { append: (resumed?.step ?? 0) > 0, log: logger });
      const every = flags.checkpointEvery;
      checkpoints = new JobCheckpoints({ runDir: flags.out, schedule, config: jobConfig, every, keep: flags.keepCheckpoints, log: logger });
      return { checkpoints, ...(resumed === undefined ? {} : { resumeFrom: { step: resumed.step, state: resumed.state } }) };
    },
    hooks: {
      onReady: (backend) => {
        const fields = { backend: backend.name, device: backend.device, reason: backend.reason, attempts: backend.attempts };
        logger.info(fields, `backend ${backend.name} on ${backend.device}: ${backend.reason}`);
        // A software GPU adapter (lavapipe) trains, on the CPU: say so where it cannot be missed.
        if (backend.warning !== undefined) logger.warn({ backend: backend.name }, backend.warning);
      },
      onStep: (p, reports) => {
        metrics?.step(p, reports);
        view.update(p);
      },
      onEpochEnd: (epoch, evaluation) => {
        metrics?.epoch(epoch, evaluation);
        view.stop();
        logRecalibration(logger, evaluation, { epoch: epoch + 1 });
        const accuracy = `${(evaluation.accuracy * 100).toFixed(2)} %`;
        logger.info({ epoch: epoch + 1, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss }, `epoch ${epoch + 1}: test accuracy ${accuracy}`);
      },
    },
  });
  // Every checkpoint asked for is on disk (or its failure logged) before the run ends, failed or not.
  const result = await running.finally(() => checkpoints?.flush()).catch((error: unknown) => {
    if (!(error instanceof JobStopped)) throw error;
    const resumeHint = `tfjs-ddp train --resume ${flags.out} (same flags) continues from it`;
    const fields = { checkpointStep: error.checkpointStep, committedSteps: error.committedSteps };
    if (error.checkpointStep > 0 && checkpoints?.lastWritten === error.checkpointStep) {
      logger.warn(fields, `stopped: checkpoint of step ${error.checkpointStep} written; ${resumeHint}`);
    } else {
      logger.error(fields, 'stopped: no checkpoint was written');
    }
    exitWithin(exitCode());
    process.exit(exitCode());
  });
  await bestSaves.done();
  view.stop();
  const best = monitor?.best;
  if (result.stoppedEarly && best !== undefined) {
    logger.info(
      { bestEpoch: best.epoch + 1, [`best${flags.monitor === 'loss' ? 'Loss' : 'Accuracy'}`]: best.value },
      `stopped early: no better held-out ${flags.monitor} for ${flags.earlyStop} epoch(s) after epoch ${best.epoch + 1}`,
    );
  }
  logRecalibration(logger, result.test, { final: true });
  const { elapsedSec, samples, steps, test } = result;
  logger.info(
    {
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      steps,
      samples,
      elapsedSec,
      samplesPerSec: samples / elapsedSec,
      meanStepMs: meanOverRanks(result.meanReports),
      model: result.modelPath,
    },
    `done in ${elapsedSec.toFixed(1)} s: test accuracy ${(test.accuracy * 100).toFixed(2)} % on ${test.count} held-out samples ` +
      `(${heldOutOf(flags.dataset)}); model saved to ${result.modelPath}`,
  );
}

/** That BN recalibration ran before an evaluation, and what it cost. */
function logRecalibration(logger: ReturnType<typeof createLogger>, evaluation: object, context: Record<string, unknown>): void {
  const recalibration = bnRecalibrationOf(evaluation);
  if (recalibration !== undefined) logger.info({ ...context, bnRecalibration: recalibration }, describeBnRecalibration(recalibration));
}

/**
 * First SIGTERM/SIGINT: no step is sent any more; the steps in flight finish, the last
 * committed one is checkpointed, and the process exits 143/130. A second signal, or no
 * checkpoint within `graceSec`, exits at once with the same code. Returns the exit code.
 */
function handleStopSignals(stop: AbortController, graceSec: number, logger: ReturnType<typeof createLogger>): () => number {
  let code: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (code !== undefined) {
      logger.warn({ signal }, `${signal} again: exiting at once without waiting for the checkpoint`);
      process.exit(code);
    }
    code = signal === 'SIGTERM' ? 143 : 130;
    logger.warn({ signal, termGraceSec: graceSec }, `${signal}: stopping after the steps in flight to checkpoint the last committed step`);
    stop.abort(`${signal} to train`);
    setTimeout(() => {
      logger.error({ signal, termGraceSec: graceSec }, `${signal}: no checkpoint was written within --term-grace ${graceSec} s; exiting`);
      process.exit(code);
    }, graceSec * 1000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => code ?? 143;
}
