import { setTimeout as sleep } from 'node:timers/promises';
import { JobSocket, type JobSocketHandlers } from '@tfjs-ddp/protocol';
import { WebSocket } from 'ws';
import { ReportedError, WorkerError } from './errors.js';

/** How the worker reaches its coordinator. */
export interface CoordinatorLinkOptions {
  /** PEM certificate(s) trusted for a wss:// coordinator instead of the system's CAs (a self-signed certificate or a private CA). */
  ca?: string | Buffer;
  /**
   * The job token, sent in the upgrade request (`authorization: Bearer <token>`): the
   * coordinator checks it before it makes a WebSocket, and answers 401 without it.
   */
  token?: string;
}

/** The coordinator refused the token at the upgrade: retrying cannot help. */
function badToken(url: string): WorkerError {
  // The same words as the coordinator's refusal of a join with a wrong token (users and scripts match on them).
  const reason = 'wrong job token';
  return new WorkerError('WORKER_ERR_REFUSED', `the coordinator refused this worker: ${reason}`, {
    cause: new ReportedError(`${reason} (HTTP 401 at the WebSocket upgrade to ${url})`, 'COORD_ERR_BAD_TOKEN'),
  });
}

/** TLS failures that no retry fixes: the certificate is not trusted or not for this host. */
const TLS_REFUSALS = /certificate|self[- ]signed|CERT_|ERR_TLS|altnames|wrong version number|EPROTO/i;

/**
 * Opens the worker's WebSocket to the coordinator, retrying with backoff (0.25 s
 * doubling to 4 s) while the coordinator is not (yet) reachable, until `timeoutMs`.
 * A coordinator started after its workers, or restarting, is the normal case.
 */
export async function connectToCoordinator(
  url: string,
  timeoutMs: number,
  handlers: JobSocketHandlers,
  onRetry?: (attempt: number, error: string) => void,
  options: CoordinatorLinkOptions = {},
): Promise<JobSocket> {
  if (options.ca !== undefined && !url.startsWith('wss:')) {
    // A CA was given to check the coordinator's certificate; a plain ws:// URL would send the token in clear and check nothing.
    throw new WorkerError('WORKER_ERR_BAD_OPTION', `--tls-ca was given but the coordinator URL ${url} is not wss://: use wss:// (or drop --tls-ca)`);
  }
  const deadline = performance.now() + timeoutMs;
  let delay = 250;
  let lastError = '';
  for (let attempt = 1; ; attempt++) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    try {
      return await openOnce(url, Math.min(left, 10_000), handlers, options);
    } catch (error) {
      if (error instanceof WorkerError) throw error;
      lastError = (error as Error).message;
      const code = String((error as { code?: unknown }).code ?? '');
      if (url.startsWith('wss:') && (TLS_REFUSALS.test(lastError) || TLS_REFUSALS.test(code))) {
        throw new WorkerError(
          'WORKER_ERR_COORDINATOR_UNREACHABLE',
          `the coordinator at ${url} failed the TLS check: ${lastError}${code === '' ? '' : ` (${code})`}; give its certificate or CA with --tls-ca`,
          { cause: error },
        );
      }
      onRetry?.(attempt, lastError);
    }
    await sleep(Math.min(delay, Math.max(0, deadline - performance.now())));
    delay = Math.min(delay * 2, 4000);
  }
  const seconds = Math.round(timeoutMs / 1000);
  throw new WorkerError('WORKER_ERR_COORDINATOR_UNREACHABLE', `could not reach the coordinator at ${url} within ${seconds} s (last error: ${lastError})`);
}

function openOnce(url: string, timeoutMs: number, handlers: JobSocketHandlers, options: CoordinatorLinkOptions): Promise<JobSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      handshakeTimeout: timeoutMs,
      maxPayload: 512 * 1024 * 1024,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.token === undefined ? {} : { headers: { authorization: `Bearer ${options.token}` } }),
    });
    const fail = (error: Error): void => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(error);
    };
    ws.once('error', fail);
    ws.once('unexpected-response', (_request, response) =>
      fail(response.statusCode === 401 ? badToken(url) : new Error(`HTTP ${response.statusCode} instead of a WebSocket`)),
    );
    ws.once('open', () => {
      ws.removeAllListeners();
      resolve(new JobSocket(ws, handlers));
    });
  });
}
