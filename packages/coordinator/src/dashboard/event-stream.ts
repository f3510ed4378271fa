import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EventStreamOptions {
  /** Open streams at most; more are answered 503. Default 32. */
  maxClients?: number;
  /** A comment line this often keeps proxies from closing an idle stream. Default 15 s. */
  heartbeatMs?: number;
}

/**
 * Server-sent events to the open dashboard pages. SSE rather than a WebSocket: the
 * coordinator's WebSocket upgrades all belong to workers, SSE is plain HTTP on the same
 * port, and the browser's EventSource reconnects by itself. Every event carries a whole
 * snapshot, so a client whose socket is still full from the last one simply skips one.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly maxClients: number;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(options: EventStreamOptions = {}) {
    this.maxClients = options.maxClients ?? 32;
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
    // A page left open must not keep a finished coordinator's process alive.
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Answers a GET with an open event stream; `first` (an event) goes to this client alone. Returns false when refused. */
  open(request: IncomingMessage, response: ServerResponse, first?: string): boolean {
    if (this.clients.size >= this.maxClients) {
      response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end(`at most ${this.maxClients} dashboards may be open at once\n`);
      return false;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx and the like would otherwise hold events back in a buffer.
      'x-accel-buffering': 'no',
    });
    if (request.method === 'HEAD') {
      // A HEAD has no body to stream: it would otherwise stay open forever.
      response.end();
      return true;
    }
    request.socket.setNoDelay(true);
    response.write('retry: 2000\n\n');
    if (first !== undefined) response.write(first);
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
    return true;
  }

  /** Sends one event to every client that can take it now. */
  send(event: string, data: string): void {
    this.write(formatEvent(event, data));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private write(chunk: string): void {
    for (const client of this.clients) if (!client.writableNeedDrain) client.write(chunk);
  }
}

/** One event in the text/event-stream format; `data` must be one line (JSON is). */
export function formatEvent(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
