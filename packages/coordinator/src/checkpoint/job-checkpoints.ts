import type { StepSchedule } from '@tfjs-ddp/job';
import type { JobConfig, StructuredLog } from '@tfjs-ddp/protocol';
import { CoordinatorError } from '../errors.js';
import type { StoredCheckpoint } from './checkpoint-types.js';
import { CheckpointError } from './errors.js';
import { readLatestCheckpoint } from './read-checkpoint.js';
import { writeCheckpoint } from './write-checkpoint.js';

export interface JobCheckpointsOptions {
  /** The run folder; checkpoints go to `<runDir>/checkpoints/step-NNNNNN`. */
  runDir: string;
  schedule: StepSchedule;
  config: JobConfig;
  /** Also after every this many steps; 0: only at epoch ends. */
  every: number;
  /** Complete checkpoints kept. Default 3. */
  keep?: number;
  log: StructuredLog;
}

/**
 * When a running job checkpoints and where the checkpoints go. The coordinator asks the
 * ranks for a checkpoint together with the order of the step it follows (orders run in
 * sequence on every rank, so the state rank 0 reports is exactly the state after that
 * step, whatever is prefetched behind it); rank 0's answer is written here. Writes go
 * one after another; a write that fails is logged at error, counted (`failures`, shown in
 * /status and /metrics) and the job goes on (the next checkpoint may succeed, and the
 * previous ones are untouched).
 */
export class JobCheckpoints {
  private pending: Promise<void> = Promise.resolve();
  /** Steps committed by the newest checkpoint written (0: none yet). */
  lastWritten = 0;
  /** The newest step (0-based) whose checkpoint arrived, written or being written (-1: none). */
  lastReceived = -1;
  /** Checkpoint writes that failed (reported in /status and /metrics; the job goes on). */
  failures = 0;
  /** The newest failed write: its step (committed steps) and cause. */
  lastFailure: { step: number; code: string; error: string } | undefined;

  constructor(private readonly options: JobCheckpointsOptions) {
    if (!Number.isSafeInteger(options.every) || options.every < 0) {
      throw new CoordinatorError('COORD_ERR_BAD_OPTION', `checkpoint-every must be an integer >= 0, got ${options.every}`);
    }
  }

  /** Whether the state after step `step` (0-based) is checkpointed. */
  wants(step: number): boolean {
    const every = this.options.every;
    return this.options.schedule.at(step).endsEpoch || (every > 0 && (step + 1) % every === 0);
  }

  /** Writes rank 0's model and state after step `step` (0-based), after the writes before it. */
  write(step: number, modelJson: string, weights: Uint8Array, state: Float32Array): void {
    const { schedule, config, runDir, log } = this.options;
    const committed = step + 1;
    this.lastReceived = Math.max(this.lastReceived, step);
    const epoch = Math.floor(committed / schedule.stepsPerEpoch);
    const checkpoint = {
      step: committed,
      epoch,
      config,
      sampler: { seed: config.seed, epoch, position: committed % schedule.stepsPerEpoch },
      modelJson,
      weights,
      state,
    };
    this.pending = this.pending.then(async () => {
      let written;
      try {
        written = await writeCheckpoint(runDir, checkpoint, { keep: this.options.keep });
      } catch (error) {
        // The write removed its temp folder: nothing half-written is visible and --resume takes the newest one written.
        const code = (error as { code?: string }).code ?? 'unknown';
        this.failures += 1;
        this.lastFailure = { step: committed, code, error: (error as Error).message };
        const fallback = this.lastWritten > 0 ? `--resume would continue from step ${this.lastWritten}` : 'no checkpoint of this run is written yet';
        const why = (error as Error).message;
        const message = `checkpoint after step ${committed} FAILED, not written: ${why}; training goes on (${fallback})`;
        log.error({ step: committed, code, failures: this.failures }, message);
        return;
      }
      this.lastWritten = Math.max(this.lastWritten, committed);
      log.info({ checkpoint: written.dir, step: committed }, `checkpoint after step ${committed} written to ${written.dir}`);
      if (written.cleanupError !== undefined) {
        const code = (written.cleanupError as { code?: string }).code;
        log.warn({ step: committed, code }, `checkpoint after step ${committed} written, but removing older ones failed: ${written.cleanupError.message}`);
      }
    });
  }

  /** Resolves when every write asked for so far has ended. */
  flush(): Promise<void> {
    return this.pending;
  }
}

/**
 * The newest good checkpoint of `runDir` for a job with `config`, or undefined where the
 * folder holds none yet (a first start under a supervisor that always passes --resume).
 * A corrupt newest checkpoint is refused unless `fallback`; a checkpoint of another job
 * (its model, data, batch, seed or optimizer differ) is refused: resuming it would train
 * something else. Epochs and max-steps may differ: the steps before are the same (with a
 * cosine learning-rate schedule the config holds its horizon, filled in from the run's
 * total steps, so epochs that move it are refused through that field).
 */
export async function findResumePoint(runDir: string, config: JobConfig, fallback: boolean, log: StructuredLog): Promise<StoredCheckpoint | undefined> {
  let latest;
  try {
    latest = await readLatestCheckpoint(runDir, { fallback });
  } catch (error) {
    if (error instanceof CheckpointError && error.code === 'CHECKPOINT_ERR_NONE') {
      log.warn({ runDir }, `no checkpoint under ${runDir}: the job starts at step 1`);
      return undefined;
    }
    if (error instanceof CheckpointError && error.code === 'CHECKPOINT_ERR_CORRUPT' && !fallback) {
      const message = `${error.message}; refusing to resume from it (--resume-fallback takes the newest good checkpoint before it)`;
      throw new CheckpointError(error.code, message, { dir: error.dir, file: error.file, cause: error });
    }
    throw error;
  }
  for (const skipped of latest.skipped) {
    log.warn({ dir: skipped.dir, code: skipped.reason.code }, `skipped checkpoint ${skipped.dir}: ${skipped.reason.message}`);
  }
  const checkpoint = latest.checkpoint;
  const differs = configDifference(checkpoint.config, config);
  if (differs !== undefined) {
    throw new CoordinatorError(
      'COORD_ERR_BAD_OPTION',
      `the checkpoint ${checkpoint.dir} is of another job (${differs}): resume with the job's own settings, or choose another --out`,
    );
  }
  log.info({ checkpoint: checkpoint.dir, step: checkpoint.step }, `resuming from ${checkpoint.dir}: ${checkpoint.step} step(s) already trained`);
  return checkpoint;
}

/** The first setting that makes the steps of two configs differ, if one does. */
function configDifference(stored: JobConfig, wanted: JobConfig): string | undefined {
  const free = new Set(['epochs', 'maxSteps']);
  const keys = new Set([...Object.keys(stored), ...Object.keys(wanted)].filter((k) => !free.has(k)));
  for (const key of [...keys].sort()) {
    const a = canonical((stored as unknown as Record<string, unknown>)[key]);
    const b = canonical((wanted as unknown as Record<string, unknown>)[key]);
    if (a !== b) return `${key} is ${a ?? 'unset'} there, ${b ?? 'unset'} here`;
  }
  return undefined;
}

/** JSON with object keys sorted, so that equal settings compare equal whatever their order. */
function canonical(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v) ?? 'null').join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v) ?? 'null'}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
