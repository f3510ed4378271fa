import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { SILENT_LOG } from './coordinator-options.js';
import { listen } from './http-server.js';
import { WorkerSessions } from './worker-sessions.js';

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
