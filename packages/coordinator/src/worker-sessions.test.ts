import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { encodeFrameBytes, SILENT_LOG } from '@tfjs-ddp/protocol';
import { listen } from './http-server.js';
import { PRE_ADMISSION_MAX_PAYLOAD, WorkerSessions } from './worker-sessions.js';

const OPTIONS = { jobId: 'j', token: 't', workers: 1, handshakeTimeoutMs: 10_000, maxConnections: 256, heartbeatMs: 1000, heartbeatTimeoutMs: 3000, log: SILENT_LOG, jobState: () => 'waiting' as const };
const AUTH = { headers: { authorization: 'Bearer t' } };
const IGNORE = { admitted: () => undefined, message: () => undefined, invalid: () => undefined, lost: () => undefined };

test('connections that close before they join are forgotten: a flood of them leaves no session behind', async () => {
  const sessions = new WorkerSessions(OPTIONS, IGNORE);
  const server = createServer();
  server.on('upgrade', (request, socket, head) => sessions.upgrade(request, socket, head));
  const port = await listen(server, 0, '127.0.0.1');
  try {
    for (let i = 0; i < 50; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, AUTH);
      await new Promise((resolve) => ws.once('open', resolve));
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.close();
      await closed;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sessions.all().length, 0, `${sessions.all().length} sessions kept for connections that closed without joining`);
  } finally {
    sessions.closeAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the open connections are capped: one past the cap is answered 503 before any WebSocket', async () => {
  const sessions = new WorkerSessions({ ...OPTIONS, maxConnections: 3 }, IGNORE);
  const server = createServer();
  server.on('upgrade', (request, socket, head) => sessions.upgrade(request, socket, head));
  const port = await listen(server, 0, '127.0.0.1');
  const open: WebSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, AUTH);
      await new Promise((resolve) => ws.once('open', resolve));
      open.push(ws);
    }
    const extra = new WebSocket(`ws://127.0.0.1:${port}`, AUTH);
    const status = await new Promise<number>((resolve) => {
      extra.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      extra.once('open', () => resolve(101));
      extra.once('error', () => undefined);
    });
    assert.equal(status, 503);
    assert.equal(sessions.all().length, 3);
  } finally {
    open.forEach((ws) => ws.terminate());
    sessions.closeAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the token is checked at the upgrade: without it or with a wrong one the answer is 401 and no session exists', async () => {
  const sessions = new WorkerSessions(OPTIONS, IGNORE);
  const server = createServer();
  server.on('upgrade', (request, socket, head) => sessions.upgrade(request, socket, head));
  const port = await listen(server, 0, '127.0.0.1');
  const statusOf = (headers: Record<string, string>): Promise<number> =>
    new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers });
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.once('open', () => {
        ws.terminate();
        resolve(101);
      });
      ws.once('error', () => undefined);
    });
  try {
    assert.equal(await statusOf({}), 401);
    assert.equal(await statusOf({ authorization: 'Bearer not-t' }), 401);
    assert.equal(await statusOf({ authorization: 'Basic t' }), 401);
    assert.equal(await statusOf({ 'x-tfjs-ddp-token': 'wrong' }), 401);
    assert.equal(sessions.all().length, 0);
    assert.equal(await statusOf({ 'x-tfjs-ddp-token': 't' }), 101);
    assert.equal(await statusOf({ authorization: 'Bearer t' }), 101);
  } finally {
    sessions.closeAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('before admission a message past one header-only frame is closed 1009; after admission a 1 MiB frame is taken', async () => {
  const received: number[] = [];
  const sessions = new WorkerSessions(OPTIONS, { ...IGNORE, message: (_s, _m, payload) => void received.push(payload.byteLength) });
  const server = createServer();
  server.on('upgrade', (request, socket, head) => sessions.upgrade(request, socket, head));
  const port = await listen(server, 0, '127.0.0.1');
  const open = async (): Promise<WebSocket> => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, AUTH);
    await new Promise((resolve) => ws.once('open', resolve));
    return ws;
  };
  try {
    const stranger = await open();
    const closed = new Promise<number>((resolve) => stranger.once('close', resolve));
    stranger.send(Buffer.alloc(PRE_ADMISSION_MAX_PAYLOAD + 1));
    assert.equal(await closed, 1009);
    const worker = await open();
    worker.send(encodeFrameBytes({ v: 2, t: 'join', token: 't', jobId: '', host: 'h', peerPort: 1, threads: 1, backend: 'wasm', pid: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.send(encodeFrameBytes({ v: 2, t: 'state', step: 1 }, new Uint8Array(1 << 20)));
    for (const deadline = Date.now() + 5000; received.length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(received, [1 << 20]);
    worker.terminate();
  } finally {
    sessions.closeAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
