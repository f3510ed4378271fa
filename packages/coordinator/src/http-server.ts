import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { JobStatus } from './status.js';

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HttpRoutes {
  status: () => JobStatus;
  /** Extra routes by exact path (the dashboard and /metrics add theirs); may grow after the server starts. */
  extra?: Map<string, RouteHandler>;
}

/**
 * The coordinator's HTTP side: `/healthz` (liveness and readiness probes), `/status`
 * (JSON), and whatever routes are added. GET only; anything else is a 404 or 405.
 */
export function createHttpServer(routes: HttpRoutes): Server {
  return createServer((request, response) => {
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
  });
}
