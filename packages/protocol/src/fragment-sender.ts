import type { WebSocket } from 'ws';

/**
 * Bytes of one WebSocket fragment. A frame bigger than this goes out as several fragments
 * of one message (the receiving `ws` joins them, under its maxPayload), so that pings and
 * pongs, which may go between fragments, wait behind at most a window of bulk bytes.
 */
export const FRAGMENT_BYTES = 64 * 1024;

/**
 * Bytes handed to the socket and not yet written out. Past it the next fragment waits:
 * without a window the whole 30 MB test set sits in the socket's buffer ahead of every
 * ping, and on a 10 Mbit/s link the peer's heartbeat deadline passes before the ping is
 * even sent (issue 21). 512 KiB keeps a fast link busy and costs a slow one < 0.5 s.
 */
export const WINDOW_BYTES = 512 * 1024;

/**
 * Writes messages to a WebSocket in order, as fragments within a window (backpressure),
 * and notes when the peer last took bytes (`progressAt`): a fragment written out means
 * the kernel had room, so the peer's TCP acknowledged earlier ones — a peer busy
 * receiving a long message is alive even while its pongs queue behind the data.
 */
export class FragmentSender {
  private readonly queue: Uint8Array[] = [];
  /** Offset of the next fragment in queue[0]. */
  private offset = 0;
  private inFlight = 0;
  private dropped = false;
  private readonly flushed: Array<() => void> = [];
  /** performance.now() of the last write completed (0: none yet). */
  progressAt = 0;

  constructor(private readonly ws: WebSocket) {}

  send(frame: Uint8Array): void {
    if (this.dropped) return;
    this.queue.push(frame);
    this.pump();
  }

  /** Calls `then` once every queued message has been handed to the socket (at once if none is queued). */
  whenFlushed(then: () => void): void {
    if (this.queue.length === 0) then();
    else this.flushed.push(then);
  }

  /** Forgets what is queued (the socket is gone). */
  drop(): void {
    this.dropped = true;
    this.queue.length = 0;
    this.flushed.length = 0;
  }

  private pump(): void {
    while (!this.dropped && this.inFlight < WINDOW_BYTES && this.ws.readyState === this.ws.OPEN) {
      const frame = this.queue[0];
      if (frame === undefined) {
        for (const then of this.flushed.splice(0)) then();
        return;
      }
      const end = Math.min(frame.byteLength, this.offset + FRAGMENT_BYTES);
      const fragment = frame.subarray(this.offset, end);
      const fin = end === frame.byteLength;
      this.inFlight += fragment.byteLength;
      this.ws.send(fragment, { binary: true, fin }, (error) => {
        this.inFlight -= fragment.byteLength;
        if (error !== undefined && error !== null) return;
        this.progressAt = performance.now();
        this.pump();
      });
      if (fin) {
        this.queue.shift();
        this.offset = 0;
      } else this.offset = end;
    }
  }
}
