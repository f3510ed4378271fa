import type { JobState } from './status.js';

/**
 * Readiness (GET /readyz): is the job making progress? Liveness (/healthz) only says the
 * event loop answers; a coordinator whose job has not stepped for minutes is alive but
 * not ready. Derived from facts the coordinator already has.
 */
export interface ReadinessFacts {
  state: JobState;
  /** performance.now() when the job entered its current state. */
  stateSinceMs: number;
  /** performance.now() of the last committed step (or of the start of training). */
  lastProgressMs: number | null;
  limits: ReadinessLimits;
}

/** How long each state may last without progress before the job is not ready (the coordinator's own deadlines). */
export interface ReadinessLimits {
  waitTimeoutMs: number;
  readyTimeoutMs: number;
  rejoinTimeoutMs: number;
  stepTimeoutMs: number;
}

export interface Readiness {
  ready: boolean;
  /** One short line: why. */
  reason: string;
}

export function judgeReadiness(f: ReadinessFacts, nowMs: number = performance.now()): Readiness {
  const since = Math.round((nowMs - f.stateSinceMs) / 1000);
  switch (f.state) {
    case 'waiting':
    case 'starting':
    case 'recovering': {
      const limit = f.state === 'waiting' ? f.limits.waitTimeoutMs : f.state === 'starting' ? f.limits.readyTimeoutMs : f.limits.rejoinTimeoutMs;
      return nowMs - f.stateSinceMs <= limit
        ? { ready: true, reason: `${f.state} for ${since} s (deadline ${Math.round(limit / 1000)} s)` }
        : { ready: false, reason: `${f.state} for ${since} s, past its ${Math.round(limit / 1000)} s deadline` };
    }
    case 'training': {
      const last = f.lastProgressMs ?? f.stateSinceMs;
      const quiet = Math.round((nowMs - last) / 1000);
      return nowMs - last <= f.limits.stepTimeoutMs
        ? { ready: true, reason: `training; last step ${quiet} s ago` }
        : { ready: false, reason: `training but no step for ${quiet} s (step deadline ${Math.round(f.limits.stepTimeoutMs / 1000)} s)` };
    }
    case 'finished':
      return { ready: true, reason: 'finished' };
    case 'stopped':
      return { ready: false, reason: 'stopped by a signal' };
    case 'failed':
      return { ready: false, reason: 'the job failed' };
  }
}

/**
 * Watches a job's state and step through `note()` calls (cheap: two fields), keeping
 * when each last changed, so readiness needs no new bookkeeping in the coordinator.
 * The coordinator notes every step record; a probe notes the state it sees (a state
 * change between probes is dated at the first probe that sees it: the deadlines are
 * minutes, the probes seconds apart).
 */
export class ProgressWatch {
  // A coordinator starts waiting for its workers when this is made.
  private state: JobState = 'waiting';
  private step = -1;
  private stateSinceMs = performance.now();
  private lastProgressMs: number | null = null;

  constructor(private readonly limits: ReadinessLimits) {}

  note(state: JobState, step: number, nowMs: number = performance.now()): void {
    if (state !== this.state) {
      this.state = state;
      this.stateSinceMs = nowMs;
      if (state === 'training') this.lastProgressMs = nowMs;
    }
    if (step !== this.step) {
      if (this.step >= 0) this.lastProgressMs = nowMs;
      this.step = step;
    }
  }

  judge(state: JobState, step: number, nowMs: number = performance.now()): Readiness {
    this.note(state, step, nowMs);
    return judgeReadiness({ state, stateSinceMs: this.stateSinceMs, lastProgressMs: this.lastProgressMs, limits: this.limits }, nowMs);
  }
}
