import { setTimeout as sleep } from 'node:timers/promises';
import { jobState } from './cli-job.js';
import type { RunningProcess } from './processes.js';

/**
 * Keeps a job's training from running ahead of a load the test puts on it (a fuzz
 * run), so the job is live from the first to the last frame however fast or loaded the
 * machine is. One worker is kept paused (SIGSTOP) and let run in short bursts only while
 * the job is behind the load's progress (`progress()`, 0..1); its last `marginSteps`
 * wait until the load is done. Polling /status alone would race: a small model steps
 * faster than a poll, and a job finished before its load ends fails every connection
 * still in flight. A pause changes when a step happens, never what it computes; no
 * timeout in the job is near the length of a pause.
 */
export interface Pacer {
  /** Resumes the worker for good and stops polling. */
  stop(): Promise<void>;
  readonly stats: { pauses: number; pausedMs: number; polls: number; bursts: number };
}

export interface PacerOptions {
  /** Steps held back until the load is done; more than a burst can let through. Default 10. */
  marginSteps?: number;
  /** Default 50 ms. */
  pollMs?: number;
  /** How long the worker runs per burst. Default 5 ms. */
  burstMs?: number;
}

export function paceJob(port: number, worker: () => RunningProcess | undefined, progress: () => number, options: PacerOptions = {}): Pacer {
  const margin = options.marginSteps ?? 10;
  const pollMs = options.pollMs ?? 50;
  const burstMs = options.burstMs ?? 5;
  const stats = { pauses: 0, pausedMs: 0, polls: 0, bursts: 0 };
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
      let s: Awaited<ReturnType<typeof jobState>>;
      try {
        s = await jobState(port);
      } catch (err) {
        // The coordinator is gone (the job ended or crashed): nothing left to pace; the test judges the exit.
        if (!(err instanceof TypeError)) throw err;
        setPaused(false);
        return;
      }
      const done = progress();
      if (s.state !== 'training' || done >= 1) {
        setPaused(false);
      } else {
        if (s.step < Math.floor(done * Math.max(0, s.totalSteps - margin))) {
          stats.bursts++;
          setPaused(false);
          await sleep(burstMs);
        }
        if (running) setPaused(true);
      }
      await sleep(pollMs);
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
