/**
 * What a process's peer links carried, counted where the bytes leave and arrive (the
 * sockets), so a worker can tell how much of its step is the network's and how fast its
 * links really are. All counts only grow; a reader takes differences.
 */
export interface LinkTraffic {
  /** Bytes handed to the peer sockets: frame heads, tensor payloads and their tags. */
  readonly sentBytes: number;
  /** Bytes read from the peer sockets. */
  readonly receivedBytes: number;
  /** Tensor payload bytes sent: what the algorithms move, without framing. */
  readonly payloadSentBytes: number;
  /** Tensor payload bytes received. */
  readonly payloadReceivedBytes: number;
  /** Time (ms) during which at least one collective of the group was in flight, waits for peers included. */
  readonly busyMs: number;
  /** Collectives that ended (done or failed). */
  readonly operations: number;
}

export const NO_TRAFFIC: LinkTraffic = Object.freeze({
  sentBytes: 0,
  receivedBytes: 0,
  payloadSentBytes: 0,
  payloadReceivedBytes: 0,
  busyMs: 0,
  operations: 0,
});

/** `now - before`, field by field (a window of traffic). */
export function trafficSince(now: LinkTraffic, before: LinkTraffic): LinkTraffic {
  return {
    sentBytes: now.sentBytes - before.sentBytes,
    receivedBytes: now.receivedBytes - before.receivedBytes,
    payloadSentBytes: now.payloadSentBytes - before.payloadSentBytes,
    payloadReceivedBytes: now.payloadReceivedBytes - before.payloadReceivedBytes,
    busyMs: now.busyMs - before.busyMs,
    operations: now.operations - before.operations,
  };
}

/**
 * The union of the intervals during which operations are in flight: overlapping
 * collectives (a SyncBN exchange queued behind a gradient bucket) count their common time
 * once, so busy time never exceeds wall time.
 */
export class BusyClock {
  private inFlight = 0;
  private since = 0;
  private total = 0;
  private ended = 0;

  /** An operation starts; call the returned function once when it ends (later calls do nothing). */
  begin(): () => void {
    if (this.inFlight++ === 0) this.since = performance.now();
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.ended++;
      if (--this.inFlight === 0) this.total += performance.now() - this.since;
    };
  }

  /** Busy ms so far, the running interval included. */
  get busyMs(): number {
    return this.total + (this.inFlight > 0 ? performance.now() - this.since : 0);
  }

  get operations(): number {
    return this.ended;
  }
}
