import type { WebSocket } from 'ws';

export interface HeartbeatOptions {
  /** Ping every this many ms. */
  intervalMs: number;
  /** A peer that answered no ping for this long is dead. */
  timeoutMs: number;
}

/**
 * WebSocket ping/pong liveness: a process killed without closing its socket, or cut off
 * by the network, stops answering pings; `onDead` is called (once) after `timeoutMs`
 * without a pong, and the socket is terminated. Returns a function that stops it.
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
  const timer = setInterval(() => {
    const now = performance.now();
    const silent = now - lastPong;
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
