import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { CoordinatorError } from './errors.js';
import type { Readiness } from './readiness.js';
import type { JobStatus } from './status.js';

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HttpRoutes {
  status: () => JobStatus;
  /** /readyz: is the job making progress; without it /readyz answers like /healthz. */
  readiness?: () => Readiness;
  /** Extra routes by exact path (the dashboard and /metrics add theirs); may grow after the server starts. */
  extra?: Map<string, RouteHandler>;
}

/** A PEM certificate (chain) and its private key: the server speaks HTTPS and wss://. */
export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * Bounds on the unauthenticated side of the port (HTTP requests and WebSocket upgrades
 * before the token is checked). A stranger can open connections; these limit how many,
 * how long each may take to send its headers, and how long an idle one is kept.
 */
export const HTTP_LIMITS = Object.freeze({
  /** Open TCP connections at most (HTTP and WebSocket together); Node closes any past it at once. */
  maxConnections: 1024,
  /** A request's headers must arrive within this (slow-header attacks). */
  headersTimeoutMs: 10_000,
  /** A whole request within this. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks the two timeouts above (its default, 30 s, would let a slow client stay 4x longer). */
  connectionsCheckingIntervalMs: 1_000,
  /** Largest request head (the request line and headers); Node answers 431 past it. */
  maxHeaderSize: 16 * 1024,
});

function answer(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'text/plain', connection: status >= 400 ? 'close' : 'keep-alive', ...headers }).end(`${text}\n`);
}

/** The path of a request target, or undefined when it is not one (`GET http://[`, `//x:y@`): a 400, never a throw. */
function pathOf(target: string | undefined): string | undefined {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://coordinator').pathname;
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

/**
 * The coordinator's HTTP side: `/healthz` (liveness: the event loop answers), `/readyz`
 * (readiness: the job makes progress within its deadlines), `/status` (JSON), and
 * whatever routes are added. GET only; anything else is a 404 or 405. Nothing a client
 * sends can raise out of a handler: a target that is not an origin-form path is a 400,
 * a handler that throws is a 500 for that request, and the server goes on.
 */
export function createHttpServer(routes: HttpRoutes, tls?: TlsFiles): Server {
  const route = (request: IncomingMessage, response: ServerResponse): void => {
    const path = pathOf(request.url);
    if (path === undefined) return answer(response, 400, 'bad request target');
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(response, 405, 'method not allowed', { allow: 'GET, HEAD' });
    if (path === '/healthz') return answer(response, 200, 'ok');
    if (path === '/readyz') {
      const r = routes.readiness?.() ?? { ready: true, reason: 'ok' };
      return answer(response, r.ready ? 200 : 503, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}`, { 'cache-control': 'no-store' });
    }
    if (path === '/status') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(routes.status()));
      return;
    }
    const handler = routes.extra?.get(path);
    if (handler !== undefined) return handler(request, response);
    answer(response, 404, 'not found');
  };
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    try {
      route(request, response);
    } catch (error) {
      // A bug in a route (ours or an added one) costs that request, not the job.
      process.emitWarning(`HTTP ${request.method ?? '?'} request failed: ${(error as Error).message}`, { code: 'COORD_HTTP_HANDLER' });
      answer(response, 500, 'internal error');
    }
  };
  const options: ServerOptions = {
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
    connectionsCheckingInterval: HTTP_LIMITS.connectionsCheckingIntervalMs,
    maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
  };
  // An https.Server is an http.Server over TLS sockets: the same routes and upgrades.
  const server =
    tls === undefined ? createServer(options, handle) : (createTlsServer({ ...options, cert: tls.cert, key: tls.key }, handle) as unknown as Server);
  server.maxConnections = HTTP_LIMITS.maxConnections;
  // Bytes that are not HTTP at all: answer 400 and drop the connection (Node's default,
  // made explicit so a socket already gone is not written to).
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  });
  return server;
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
