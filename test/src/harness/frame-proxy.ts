import net from 'node:net';
import type { Server, Socket } from 'node:net';
import { FRAME_PREFIX_BYTES, decodeHeader, type Message } from '@tfjs-ddp/protocol';

/**
 * A man in the middle for peer links: a node:net proxy that forwards whole frames
 * between a dialer and the listener it meant to reach, and lets a test look at, keep,
 * change or cut each one. It splits the stream the way a peer link frames it: prefix,
 * header, payload, and after the handshake (`ready` toward the dialer, the dialer's
 * `auth` toward the acceptor) a tag of `tagBytes`.
 */
export type Direction = 'to-acceptor' | 'to-dialer';

export interface ProxiedFrame {
  /** Which proxied connection (0, 1, ... in accept order). */
  readonly connection: number;
  readonly direction: Direction;
  readonly message: Message;
  /** The whole frame as it came, tag included; may be changed in place before it is forwarded. */
  readonly bytes: Buffer;
  /** Where the payload starts in `bytes`, and its length. */
  readonly payloadAt: number;
  readonly payloadBytes: number;
}

/** What to do with a frame: forward it (possibly changed in place), or cut both sides of its connection. */
export type FrameVerdict = 'forward' | 'cut';

export interface FrameProxy {
  readonly port: number;
  readonly frames: ProxiedFrame[];
  close(): void;
}

class FrameSplitter {
  private buffered = Buffer.alloc(0);
  private tagged = false;

  constructor(
    private readonly tagBytes: number,
    private readonly taggedAfter: Message['t']
  ) {}

  /** Whole frames in `chunk` (and what was left over before it). */
  push(chunk: Buffer): Array<{ message: Message; bytes: Buffer; payloadAt: number; payloadBytes: number }> {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const out: Array<{ message: Message; bytes: Buffer; payloadAt: number; payloadBytes: number }> = [];
    for (;;) {
      if (this.buffered.byteLength < FRAME_PREFIX_BYTES) return out;
      const headerBytes = this.buffered.readUInt32LE(0);
      const payloadBytes = this.buffered.readUInt32LE(4);
      const payloadAt = FRAME_PREFIX_BYTES + headerBytes;
      const total = payloadAt + payloadBytes + (this.tagged ? this.tagBytes : 0);
      if (this.buffered.byteLength < total) return out;
      const bytes = Buffer.from(this.buffered.subarray(0, total));
      this.buffered = this.buffered.subarray(total);
      const message = decodeHeader(bytes.subarray(FRAME_PREFIX_BYTES, payloadAt), payloadBytes);
      if (message.t === this.taggedAfter) this.tagged = true;
      out.push({ message, bytes, payloadAt, payloadBytes });
    }
  }
}

/** Listens on loopback and relays each connection to `target`, frame by frame, through `onFrame`. */
export async function startFrameProxy(options: { targetPort: number; tagBytes: number; onFrame: (frame: ProxiedFrame) => FrameVerdict }): Promise<FrameProxy> {
  const frames: ProxiedFrame[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = net.createServer((dialer) => {
    const connection = connections++;
    const acceptor = net.connect({ host: '127.0.0.1', port: options.targetPort });
    for (const s of [dialer, acceptor]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      // A cut or a closed side ends the other: errors are the expected way these end.
      s.on('error', () => s.destroy());
    }
    const cut = (): void => {
      dialer.destroy();
      acceptor.destroy();
    };
    const relay = (from: Socket, to: Socket, direction: Direction, splitter: FrameSplitter): void => {
      from.on('data', (chunk: Buffer) => {
        for (const f of splitter.push(chunk)) {
          const frame: ProxiedFrame = { connection, direction, ...f };
          frames.push(frame);
          if (options.onFrame(frame) === 'cut') {
            cut();
            return;
          }
          to.write(frame.bytes);
        }
      });
      from.on('end', () => to.end());
      from.on('close', cut);
    };
    relay(dialer, acceptor, 'to-acceptor', new FrameSplitter(options.tagBytes, 'auth'));
    relay(acceptor, dialer, 'to-dialer', new FrameSplitter(options.tagBytes, 'ready'));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    frames,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}
