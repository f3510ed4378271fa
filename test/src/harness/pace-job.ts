import { jobState } from './cli-job.js';
import type { RunningProcess } from './processes.js';

/**
 * Keeps a job's training from running ahead of a load the test puts on it (a fuzz
 * run): whenever the job has done a larger share of its steps than `progress()` (0..1)
 * of the load, one worker is paused with SIGSTOP until the load catches up. So the job
 * is live from the first to the last frame however fast or loaded the machine is. A
 * pause changes when a step happens, never what it computes; no timeout in the job is
 * near the length of a pause.
 */
export interface Pacer {
  /** Resumes the worker for good and stops polling. */
  stop(): Promise<void>;
  readonly stats: { pauses: number; pausedMs: number; polls: number };
}

export function paceJob(port: number, worker: () => RunningProcess | undefined, progress: () => number, options: { marginSteps?: number; pollMs?: number } = {}): Pacer {
  const margin = options.marginSteps ?? 3;
  const stats = { pauses: 0, pausedMs: 0, polls: 0 };
  let paused = false;
  let pausedAt = 0;
  let running = true;
  const setPaused = (want: boolean): void => {
    const child = worker()?.child;
    if (child === undefined || child.exitCode !== null || want === paused) return;
    child.kill(want ? 'SIGSTOP' : 'SIGCONT');
    paused = want;
    if (want) {
      stats.pauses++;
      pausedAt = Date.now();
    } else stats.pausedMs += Date.now() - pausedAt;
  };
  const loop = (async () => {
    while (running) {
      stats.polls++;
      try {
        const s = await jobState(port);
        // The last `margin` steps wait for the whole load: the job must outlive its last connection.
        const done = progress();
        const allowed = done >= 1 ? s.totalSteps : Math.floor(done * Math.max(0, s.totalSteps - margin));
        setPaused(running && s.state === 'training' && s.step >= allowed);
      } catch (err) {
        // The coordinator is gone (the job ended or crashed): nothing left to pace; the test judges the exit.
        if (!(err instanceof TypeError)) throw err;
        setPaused(false);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await loop;
      setPaused(false);
    },
  };
}
