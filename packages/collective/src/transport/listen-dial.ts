import net from 'node:net';
import type { Server, Socket } from 'node:net';
import { collectiveError } from '../errors.js';

/**
 * Where sockets come from: the one place that listens and dials, so TLS (tls.createServer
 * / tls.connect give sockets with the same API) can be added here alone.
 */
export function listen(host: string, port: number, onSocket: (socket: Socket) => void): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const server = net.createServer(onSocket);
    server.once('error', (err) => reject(collectiveError('COLL_ERR_CONNECT', `cannot listen on ${host}:${port}: ${err.message}`, undefined, err)));
    server.listen({ host, port }, () => resolve(server));
  });
}

/** Reads in place: node:net `onread` (only sockets we dial can have it). */
export interface OnRead {
  buffer: () => Uint8Array;
  callback: (n: number, buf: Uint8Array) => boolean;
}

/** Connects, retrying refused connections (the peer may not listen yet) until the deadline. */
export async function dial(host: string, port: number, deadline: number, signal: { cancelled: boolean }, onread: OnRead): Promise<Socket> {
  let delay = 10;
  for (;;) {
    try {
      return await connectOnce(host, port, Math.max(1, deadline - Date.now()), onread);
    } catch (err) {
      if (signal.cancelled || Date.now() + delay >= deadline) {
        throw collectiveError('COLL_ERR_CONNECT', `cannot connect to ${host}:${port}: ${(err as Error).message}`, undefined, err);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 500);
    }
  }
}

function connectOnce(host: string, port: number, timeoutMs: number, onread: OnRead): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = net.connect({ host, port, onread });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(collectiveError('COLL_ERR_CONNECT', `no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
