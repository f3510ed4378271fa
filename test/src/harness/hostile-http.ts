import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Prng } from './prng.js';

/**
 * Raw bytes at an HTTP port (issue 13): bad request lines and targets, oversized and
 * slow headers, unknown methods, half-open connections; and monitors of a server
 * process while that goes on (its /healthz latency and its RSS).
 */
export interface HttpOutcome {
  /** The status of the first response, undefined when none came. */
  readonly status: number | undefined;
  /** The server closed the connection (or reset it). */
  readonly closed: boolean;
  readonly timedOut: boolean;
}

/** Writes `bytes`, reads until the server closes or `timeoutMs` passes. */
export function httpExchange(options: { port: number; bytes: Uint8Array; timeoutMs: number; endAfterWrite?: boolean }): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: options.port });
    let head = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, options.timeoutMs);
    socket.on('connect', () => {
      socket.write(options.bytes);
      if (options.endAfterWrite === true) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      if (head.length < 64) head += chunk.toString('latin1', 0, 64);
    });
    // A reset is one way for a server to drop a bad client: the outcome says closed.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: match === null ? undefined : Number(match[1]), closed: !timedOut, timedOut });
    });
  });
}

/** Request heads whose target is not an origin-form path: each must be answered 400, and the server go on. */
export const BAD_TARGETS: readonly string[] = [
  'GET http://[ HTTP/1.1',
  'GET //x:y@ HTTP/1.1',
  'GET //healthz HTTP/1.1',
  'GET http://a:b@c/healthz HTTP/1.1',
  'GET http://[::1 HTTP/1.1',
  'GET https://%zz/ HTTP/1.1',
  'GET * HTTP/1.1',
  'GET a HTTP/1.1',
  'GET http:// HTTP/1.1',
  'GET ://// HTTP/1.1',
];

function request(line: string, extra = ''): Buffer {
  return Buffer.from(`${line}\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`, 'latin1');
}

export interface HttpCase {
  readonly label: string;
  readonly bytes: Buffer;
  /** The status it must get; undefined: any 4xx, or a close without an answer (bytes that are not HTTP). */
  readonly status?: number;
  /** Half-close after writing (a partial request then ends at once, not at the server's header deadline). */
  readonly end?: boolean;
}

/** The fixed corpus plus `count` random cases from `prng`. */
export function httpCases(prng: Prng, count: number): HttpCase[] {
  const cases: HttpCase[] = BAD_TARGETS.map((line) => ({ label: line, bytes: request(line), status: 400 }));
  cases.push(
    // Node's parser refuses a method it does not know; one it knows but we do not serve is a 405.
    { label: 'unknown method', bytes: request('BREW /healthz HTTP/1.1'), status: 400 },
    { label: 'unserved method', bytes: request('PROPFIND /healthz HTTP/1.1'), status: 405 },
    { label: 'oversized header', bytes: request('GET /healthz HTTP/1.1', `X-Big: ${'a'.repeat(64 * 1024)}\r\n`), status: 431 },
    { label: 'many headers', bytes: request('GET /healthz HTTP/1.1', 'X-A: b\r\n'.repeat(5000)) },
    { label: 'snapshot points NaN', bytes: request('GET /dashboard/snapshot?points=1e999 HTTP/1.1') },
    { label: 'snapshot points huge', bytes: request('GET /dashboard/snapshot?points=99999999999&points=-1 HTTP/1.1') },
    { label: 'nul in target', bytes: request('GET /\u0000 HTTP/1.1') },
    { label: 'HTTP/9', bytes: request('GET / HTTP/9.9') },
    { label: 'upgrade no key', bytes: request('GET / HTTP/1.1', 'Upgrade: websocket\r\nConnection: Upgrade\r\n') },
  );
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'M-SEARCH', 'PRI', 'g\u00e9t'];
  const targets = ['/', '/healthz', '/readyz', '/status', '/dashboard/snapshot?points=', '//', 'http://', 'http://[', '*', '/%', '/?\u00ff', '/..', ' /'];
  for (let i = 0; i < count; i++) {
    const roll = prng.int(3);
    if (roll === 0) cases.push({ label: `random bytes ${i}`, bytes: prng.bytes(prng.range(1, 512)), end: true });
    else {
      const target = `${prng.pick(targets)}${prng.chance(0.5) ? prng.bytes(prng.range(0, 16)).toString('latin1') : ''}`;
      const line = `${prng.pick(methods)} ${target} HTTP/1.${prng.int(3)}`;
      cases.push({ label: `random request ${JSON.stringify(line).slice(0, 80)}`, bytes: roll === 1 ? request(line) : Buffer.from(line, 'latin1'), end: true });
    }
  }
  return cases;
}

/** What a case got that it should not: a 5xx, a 2xx to a bad request, or no close. */
export function judgeHttp(c: HttpCase, o: HttpOutcome): string | undefined {
  if (o.timedOut) return 'the server neither answered nor closed';
  if (c.status !== undefined) return o.status === c.status ? undefined : `answered ${String(o.status)}, not ${c.status}`;
  if (o.status !== undefined && o.status >= 500) return `answered ${o.status}`;
  return undefined;
}

/** Samples a process's resident memory (VmRSS, Linux) every `everyMs`; `peakMb` is the largest seen. */
export function watchRss(pid: number, everyMs = 100): { stop(): void; readonly peakMb: number } {
  let peakKb = 0;
  const sample = (): void => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peakKb = Math.max(peakKb, kb);
    } catch (err) {
      // The process is gone: the test sees its exit; stop sampling.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      clearInterval(timer);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => clearInterval(timer),
    get peakMb() {
      return peakKb / 1024;
    },
  };
}

/**
 * Asks /healthz every `everyMs` (each ask with a 5 s deadline) and keeps the slowest
 * answer; an ask that fails or times out counts as its full wait and is kept as an error.
 */
export function watchHealth(port: number, everyMs = 100): { stop(): Promise<void>; readonly maxMs: number; readonly asks: number; readonly errors: string[] } {
  let maxMs = 0;
  let asks = 0;
  const errors: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
        await response.text();
        if (response.status !== 200) errors.push(`HTTP ${response.status}`);
      } catch (err) {
        errors.push((err as Error).message);
      }
      asks++;
      maxMs = Math.max(maxMs, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
    get maxMs() {
      return maxMs;
    },
    get asks() {
      return asks;
    },
    errors,
  };
}
