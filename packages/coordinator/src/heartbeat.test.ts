import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { startHeartbeat } from './heartbeat.js';

const OPTIONS = { intervalMs: 100, timeoutMs: 400 };

/** A server-side socket (the coordinator's end) linked to a client that answers pings or not. */
async function link(autoPong: boolean): Promise<{ server: WebSocket; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${address.port}`, { autoPong });
  const [server] = await accepted;
  await once(client, 'open');
  const close = async (): Promise<void> => {
    client.terminate();
    server.terminate();
    await new Promise<void>((resolve, reject) => wss.close((error) => (error === undefined ? resolve() : reject(error))));
  };
  return { server, close };
}

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a peer that answers is not declared dead when this process blocked its own event loop past the deadline', async () => {
  const { server, close } = await link(true);
  let dead: number | undefined;
  const stop = startHeartbeat(server, OPTIONS, (silentMs) => (dead = silentMs));
  try {
    await new Promise((resolve) => setTimeout(resolve, 250));
    // The pongs to the pings sent before this block wait in the socket: the peer did answer.
    busy(3 * OPTIONS.timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(dead, undefined, `declared dead after ${dead} ms of its own blocked event loop`);
  } finally {
    stop();
    await close();
  }
});

test('a peer that stops answering is declared dead soon after the deadline', async () => {
  const { server, close } = await link(false);
  const started = performance.now();
  const declared = new Promise<number>((resolve) => startHeartbeat(server, OPTIONS, resolve));
  try {
    const silentMs = await Promise.race([declared, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('never declared dead')), 5000))]);
    assert.ok(silentMs > OPTIONS.timeoutMs, `declared dead after ${silentMs} ms of silence`);
    assert.ok(performance.now() - started < OPTIONS.timeoutMs + 1000, 'declared dead too late');
  } finally {
    await close();
  }
});
