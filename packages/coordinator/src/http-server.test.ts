import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createHttpServer, listen } from './http-server.js';
import type { JobStatus } from './status.js';

/** One raw request; resolves with the status of the answer (undefined: none) once the server closes. */
function raw(port: number, text: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(text));
    let head = '';
    socket.on('data', (chunk: Buffer) => (head += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? Number.NaN) || undefined));
    setTimeout(() => reject(new Error('no close within 5 s')), 5000).unref();
  });
}

test('a request target that is not a path is a 400, a throwing route a 500, and the server goes on', async () => {
  const extra = new Map([['/boom', () => {
    throw new Error('a route bug');
  }]]);
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  const server = createHttpServer({ status: () => ({}) as JobStatus, readiness: () => ({ ready: false, reason: 'no step for 400 s' }), extra });
  const port = await listen(server, 0, '127.0.0.1');
  try {
    for (const target of ['http://[', '//x:y@', 'http://a:b@c/healthz', '*', '//healthz']) {
      assert.equal(await raw(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`), 400, target);
    }
    assert.equal(await raw(port, 'GET /boom HTTP/1.1\r\nHost: x\r\n\r\n'), 500);
    assert.equal(await raw(port, 'PROPFIND /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), 405);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /not ready: no step for 400 s/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal(server.maxConnections > 0 && server.headersTimeout > 0 && server.requestTimeout > 0, true);
  } finally {
    process.off('warning', onWarning);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
