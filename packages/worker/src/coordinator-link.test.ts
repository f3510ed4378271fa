import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { connectToCoordinator } from './coordinator-link.js';

const HANDLERS = { message: () => undefined, invalid: () => undefined, close: () => undefined };

test('a worker given --tls-ca refuses a plain ws:// coordinator URL at once, with a code', async () => {
  await assert.rejects(connectToCoordinator('ws://127.0.0.1:1', 5000, HANDLERS, undefined, { ca: 'a PEM' }), { code: 'WORKER_ERR_BAD_OPTION', message: /--tls-ca .* not wss:\/\// });
});

test('a 401 at the upgrade (wrong token) ends the connect at once as a refusal, without retries; the token travels as a bearer header', async () => {
  const seen: (string | undefined)[] = [];
  const server = createServer();
  server.on('upgrade', (request, socket) => {
    seen.push(request.headers.authorization);
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    let retries = 0;
    await assert.rejects(connectToCoordinator(`ws://127.0.0.1:${port}`, 20_000, HANDLERS, () => retries++, { token: 'the-token' }), { code: 'WORKER_ERR_REFUSED', message: /wrong job token/ });
    assert.equal(retries, 0);
    assert.deepEqual(seen, ['Bearer the-token']);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
