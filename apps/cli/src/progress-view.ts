import cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import type { StepProgress } from '@tfjs-ddp/job';

export interface ProgressView {
  update(progress: StepProgress): void;
  stop(): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * A progress bar (steps, samples/s, loss, ETA) on a terminal; elsewhere a structured log
 * line every `logEvery` steps and on the last step, so logs stay readable.
 */
export function createProgressView(logger: Logger, options: { tty?: boolean; logEvery?: number } = {}): ProgressView {
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const logEvery = options.logEvery ?? 20;
  if (!tty) {
    return {
      update(p) {
        if (p.step % logEvery === 0 || p.step === p.totalSteps || p.step === 1) {
          const { epoch, step, totalSteps } = p;
          const fields = { loss: round(p.loss), accuracy: round(p.accuracy), samplesPerSec: round(p.samplesPerSec, 1), etaSec: Math.round(p.etaSec) };
          logger.info({ epoch: epoch + 1, step, totalSteps, ...fields }, `step ${step}/${totalSteps}`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'epoch {epoch} [{bar}] {value}/{total} steps | {speed} samples/s | loss {loss} | acc {acc} | ETA {eta_h}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const speed = p.samplesPerSec.toFixed(0);
      const payload = { epoch: p.epoch + 1, speed, loss: p.loss.toFixed(4), acc: p.accuracy.toFixed(3), eta_h: formatEta(p.etaSec) };
      if (!started) {
        bar.start(p.totalSteps, p.step, payload);
        started = true;
      } else bar.update(p.step, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The progress hooks of a run whose ranks a coordinator drives (`coordinator`, `train
 * --procs`): the view on every step, the held-out accuracy after each epoch.
 */
export function progressHooks(logger: Logger, view: ProgressView) {
  return {
    onStep: (p: StepProgress): void => view.update(p),
    onEpochEnd: (epoch: number, evaluation: { accuracy: number; loss: number }): void => {
      view.stop();
      const accuracy = `${(evaluation.accuracy * 100).toFixed(2)} %`;
      logger.info({ epoch: epoch + 1, testAccuracy: evaluation.accuracy, testLoss: evaluation.loss }, `epoch ${epoch + 1}: test accuracy ${accuracy}`);
    },
  };
}
