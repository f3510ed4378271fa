import { createServer, connect, type Server, type Socket } from 'node:net';

/** Bytes one direction of a connection may hold in its delay line before its sender is paused. */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export interface ProxyRoute {
  /** Address and port the proxy listens on. */
  readonly listenHost: string;
  readonly listenPort: number;
  /** Where it forwards to. */
  readonly targetHost: string;
  readonly targetPort: number;
}

/**
 * A TCP proxy that holds every chunk for `oneWayMs` before passing it on, in both
 * directions: a round trip through it gains 2 x oneWayMs. It stands in for netem's delay,
 * which this kernel lacks. Each direction's delay line is bounded: past MAX_QUEUED_BYTES
 * its sender is paused until half of it has left, and a receiver that pushes back stops
 * the line until it drains. A connection that fails on either side closes both.
 */
export class DelayProxy {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly oneWayMs: number) {}

  async listen(route: ProxyRoute): Promise<void> {
    const server = createServer((inbound) => this.accept(inbound, route));
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(route.listenPort, route.listenHost, () => resolve());
    });
  }

  close(): void {
    for (const server of this.servers) server.close();
    for (const socket of this.sockets) socket.destroy();
  }

  private accept(inbound: Socket, route: ProxyRoute): void {
    const outbound = connect(route.targetPort, route.targetHost);
    for (const s of [inbound, outbound]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => closeBoth());
      s.on('close', () => {
        this.sockets.delete(s);
        closeBoth();
      });
    }
    const closeBoth = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    this.pipe(inbound, outbound);
    this.pipe(outbound, inbound);
  }

  /** One direction: chunks wait `oneWayMs`, then leave in order. */
  private pipe(from: Socket, to: Socket): void {
    const line: { due: number; chunk: Buffer }[] = [];
    let queued = 0;
    let timer: NodeJS.Timeout | undefined;
    let blocked = false;
    const flush = (): void => {
      timer = undefined;
      const now = performance.now();
      while (!blocked && line.length > 0 && (line[0] as { due: number }).due <= now) {
        const { chunk } = line.shift() as { chunk: Buffer };
        queued -= chunk.byteLength;
        if (!to.write(chunk)) {
          blocked = true;
          to.once('drain', () => {
            blocked = false;
            flush();
          });
        }
      }
      if (queued < MAX_QUEUED_BYTES / 2 && from.isPaused()) from.resume();
      const next = line[0];
      if (!blocked && next !== undefined && timer === undefined) timer = setTimeout(flush, Math.max(0, next.due - performance.now()));
    };
    from.on('data', (chunk: Buffer) => {
      line.push({ due: performance.now() + this.oneWayMs, chunk });
      queued += chunk.byteLength;
      if (queued > MAX_QUEUED_BYTES) from.pause();
      if (timer === undefined && !blocked) timer = setTimeout(flush, this.oneWayMs);
    });
    from.on('end', () => {
      // Half-close once everything before it has left.
      const endWhenEmpty = (): void => {
        if (line.length === 0) to.end();
        else setTimeout(endWhenEmpty, this.oneWayMs);
      };
      endWhenEmpty();
    });
    from.on('close', () => clearTimeout(timer));
  }
}
