import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoordinatorError } from '../errors.js';
import { PAGE_CSP, PAGE_HTML } from './page.js';
import { PAGE_CSS } from './page-style.js';

export interface StaticAsset {
  body: Buffer;
  contentType: string;
  etag: string;
  /** Extra headers (the page's Content-Security-Policy). */
  headers?: Record<string, string>;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Where the page's own build (src/dashboard/client/tsconfig.json) writes its modules. */
const CLIENT_DIR = fileURLToPath(new URL('../dashboard-page/dashboard/client/', import.meta.url));

function asset(body: Buffer | string, contentType: string, headers?: Record<string, string>): StaticAsset {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: bytes, contentType, etag: `"${createHash('sha1').update(bytes).digest('base64url')}"`, ...(headers === undefined ? {} : { headers }) };
}

/**
 * Every file the dashboard page loads, by route path, read once into memory (about
 * 200 KB): the page, its stylesheet and modules, and uPlot from node_modules, so the
 * page needs no network beyond the coordinator.
 */
export function dashboardAssets(): Map<string, StaticAsset> {
  const require = createRequire(import.meta.url);
  if (!existsSync(CLIENT_DIR)) {
    throw new CoordinatorError('COORD_ERR_DASHBOARD_ASSETS', `the dashboard page is not built (no ${CLIENT_DIR}): run npm run build`);
  }
  const assets = new Map<string, StaticAsset>([
    ['/', asset(PAGE_HTML, 'text/html; charset=utf-8', { 'content-security-policy': PAGE_CSP })],
    ['/dashboard/dashboard.css', asset(PAGE_CSS, CSS)],
    ['/dashboard/uPlot.esm.js', asset(readFileSync(require.resolve('uplot/dist/uPlot.esm.js')), JS)],
    ['/dashboard/uPlot.min.css', asset(readFileSync(require.resolve('uplot/dist/uPlot.min.css')), CSS)],
  ]);
  for (const file of readdirSync(CLIENT_DIR)) {
    if (file.endsWith('.js')) assets.set(`/dashboard/client/${file}`, asset(readFileSync(path.join(CLIENT_DIR, file)), JS));
  }
  return assets;
}

/** Sends an asset, or 304 when the browser holds this very version. */
export function serveAsset(request: IncomingMessage, response: ServerResponse, item: StaticAsset): void {
  const headers = { 'content-type': item.contentType, etag: item.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...item.headers };
  if (request.headers['if-none-match'] === item.etag) {
    response.writeHead(304, headers).end();
    return;
  }
  response.writeHead(200, { ...headers, 'content-length': item.body.length }).end(item.body);
}
