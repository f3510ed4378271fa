import type { WebSocket } from 'ws';

export interface HeartbeatOptions {
  /** Ping every this many ms. */
  intervalMs: number;
  /** A peer that answered no ping for this long is dead. */
  timeoutMs: number;
  /**
   * When the peer last showed life otherwise (performance.now()): a message from it, or
   * bytes to it written out (JobSocket.progressAt). A peer busy receiving a long message
   * over a slow link answers pings late, but it takes bytes: it is not dead.
   */
  progressAt?: () => number;
}

/**
 * WebSocket ping/pong liveness: a process killed without closing its socket, or cut off
 * by the network, stops answering pings (and taking bytes); `onDead` is called (once)
 * after `timeoutMs` without a pong or other progress, and the socket is terminated. Time
 * this process's own event loop was blocked does not count towards `timeoutMs`. Returns
 * a function that stops it.
 */
export function startHeartbeat(ws: WebSocket, options: HeartbeatOptions, onDead: (silentMs: number) => void): () => void {
  let lastPong = performance.now();
  const onPong = (): void => {
    lastPong = performance.now();
  };
  ws.on('pong', onPong);
  // Checked more often than pinged, so a silence is noticed soon after the deadline, not up to a ping interval later.
  const checkMs = Math.max(25, Math.min(options.intervalMs, options.timeoutMs / 8));
  let lastPing = 0;
  let lastTick = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    // A tick that comes late means this process's own event loop was blocked (loading,
    // a big synchronous copy, a starved CPU). The peer's pongs meanwhile wait unread in
    // the socket, and are read only after this timer, so the blocked time is not counted
    // as the peer's silence: a busy coordinator does not blame workers that answered.
    const gap = now - lastTick;
    lastTick = now;
    if (gap > 2 * checkMs) lastPong = Math.min(now, lastPong + gap - checkMs);
    const silent = now - Math.max(lastPong, options.progressAt?.() ?? 0);
    if (silent > options.timeoutMs) {
      stop();
      ws.terminate();
      onDead(silent);
      return;
    }
    if (now - lastPing >= options.intervalMs - checkMs / 2 && ws.readyState === ws.OPEN) {
      lastPing = now;
      ws.ping();
    }
  }, checkMs);
  const stop = (): void => {
    clearInterval(timer);
    ws.off('pong', onPong);
  };
  return stop;
}
