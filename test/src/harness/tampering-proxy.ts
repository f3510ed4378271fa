import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { decodeFrameBytes, type Message } from '@tfjs-ddp/protocol';

function bytesOf(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? Buffer.from(data) : data;
}

/** One frame from the worker; `tamper` returns the frames the coordinator gets instead. */
export type Tamper = (message: Message, frame: Buffer) => Buffer[];

export interface TamperingProxy {
  /** ws:// address a worker is given as its coordinator. */
  readonly url: string;
  /** Every message the coordinator sent the worker, decoded. */
  readonly toWorker: Message[];
  close(): Promise<void>;
}

/**
 * A hostile admitted worker made from an honest one: a WebSocket proxy between a real
 * worker process (which holds the token, computes and links to its ring peers) and the
 * coordinator, that passes every frame through `tamper` on the way to the coordinator.
 * Frames that do not decode pass unchanged. Each side's close closes the other.
 */
export async function startTamperingProxy(coordinatorUrl: string, tamper: Tamper): Promise<TamperingProxy> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const toWorker: Message[] = [];
  server.on('connection', (worker, request) => {
    // The worker's token travels in its upgrade request: pass it on, as a transparent proxy would.
    const authorization = request.headers.authorization;
    const upstream = new WebSocket(coordinatorUrl, authorization === undefined ? {} : { headers: { authorization } });
    const queued: Buffer[] = [];
    const send = (frames: Buffer[]): void => {
      if (upstream.readyState === WebSocket.OPEN) for (const f of frames) upstream.send(f, { binary: true });
      else queued.push(...frames);
    };
    upstream.on('open', () => send(queued.splice(0)));
    worker.on('message', (data) => {
      const frame = bytesOf(data);
      let message: Message;
      try {
        message = decodeFrameBytes(frame).message;
      } catch (error) {
        // Not ours to judge: the coordinator refuses it with its code.
        void error;
        send([frame]);
        return;
      }
      send(tamper(message, frame));
    });
    upstream.on('message', (data) => {
      const frame = bytesOf(data);
      toWorker.push(decodeFrameBytes(frame).message);
      if (worker.readyState === WebSocket.OPEN) worker.send(frame, { binary: true });
    });
    // The worker watches the coordinator's pings (and the coordinator the worker's pongs, which ws answers here).
    upstream.on('ping', (data) => {
      if (worker.readyState === WebSocket.OPEN) worker.ping(data);
    });
    upstream.on('close', () => worker.close());
    worker.on('close', () => upstream.close());
    upstream.on('error', () => worker.terminate());
    worker.on('error', () => upstream.terminate());
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    toWorker,
    close: () => {
      for (const client of server.clients) client.terminate();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
