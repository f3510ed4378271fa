import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { CoordinatorError } from './errors.js';
import type { JobStatus } from './status.js';

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HttpRoutes {
  status: () => JobStatus;
  /** Extra routes by exact path (the dashboard and /metrics add theirs); may grow after the server starts. */
  extra?: Map<string, RouteHandler>;
}

/** A PEM certificate (chain) and its private key: the server speaks HTTPS and wss://. */
export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * The coordinator's HTTP side: `/healthz` (liveness and readiness probes), `/status`
 * (JSON), and whatever routes are added. GET only; anything else is a 404 or 405.
 */
export function createHttpServer(routes: HttpRoutes, tls?: TlsFiles): Server {
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://coordinator');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url.pathname === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (url.pathname === '/status') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(routes.status()));
      return;
    }
    const handler = routes.extra?.get(url.pathname);
    if (handler !== undefined) {
      handler(request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
  // An https.Server is an http.Server over TLS sockets: the same routes and upgrades.
  return tls === undefined ? createServer(handle) : (createTlsServer({ cert: tls.cert, key: tls.key }, handle) as unknown as Server);
}

/** Starts `server` on host:port; resolves with the port (0 picks one). A port in use is COORD_ERR_PORT_IN_USE. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === 'EADDRINUSE'
          ? new CoordinatorError('COORD_ERR_PORT_IN_USE', `port ${port} on ${host} is in use: stop what listens there or choose another --port`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
