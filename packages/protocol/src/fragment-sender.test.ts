import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WebSocket } from 'ws';
import { FRAGMENT_BYTES, FragmentSender, WINDOW_BYTES } from './fragment-sender.js';

/** A socket that records each send and completes writes only when the test says so (a slow link). */
function slowSocket(): { ws: WebSocket; sent: { bytes: Uint8Array; fin: boolean }[]; complete(n: number): void; inFlight(): number } {
  const sent: { bytes: Uint8Array; fin: boolean }[] = [];
  const pending: Array<() => void> = [];
  let inFlight = 0;
  const ws = {
    OPEN: 1,
    readyState: 1,
    send(bytes: Uint8Array, options: { fin: boolean }, done: (error?: Error) => void) {
      sent.push({ bytes: Uint8Array.from(bytes), fin: options.fin });
      inFlight += bytes.byteLength;
      pending.push(() => {
        inFlight -= bytes.byteLength;
        done();
      });
    },
  } as unknown as WebSocket;
  return { ws, sent, complete: (n) => pending.splice(0, n).forEach((f) => f()), inFlight: () => inFlight };
}

test('big messages go out as fragments within the window, in order, each message ending with fin; small ones whole', () => {
  const socket = slowSocket();
  const sender = new FragmentSender(socket.ws);
  const big = Uint8Array.from({ length: 3 * WINDOW_BYTES + 123 }, (_, i) => i % 251);
  const small = Uint8Array.of(1, 2, 3);
  sender.send(big);
  sender.send(small);
  let flushed = false;
  sender.whenFlushed(() => (flushed = true));
  let maxInFlight = 0;
  while (socket.sent.length === 0 || !flushed) {
    maxInFlight = Math.max(maxInFlight, socket.inFlight());
    assert.ok(socket.inFlight() <= WINDOW_BYTES, `${socket.inFlight()} bytes in flight`);
    const before = socket.sent.length;
    socket.complete(1);
    if (socket.sent.length === before && socket.inFlight() === 0) break;
  }
  assert.ok(flushed, 'whenFlushed never ran');
  assert.equal(maxInFlight, WINDOW_BYTES);
  assert.ok(socket.sent.every((f) => f.bytes.byteLength <= FRAGMENT_BYTES));
  const fins = socket.sent.map((f, i) => (f.fin ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(fins, [socket.sent.length - 2, socket.sent.length - 1], 'fin only on the last fragment of each message');
  const joined = Buffer.concat(socket.sent.slice(0, -1).map((f) => f.bytes));
  assert.ok(joined.equals(Buffer.from(big)), 'the fragments do not join to the message');
  assert.deepEqual([...(socket.sent.at(-1)?.bytes ?? [])], [1, 2, 3]);
  assert.ok(sender.progressAt > 0, 'no progress noted for completed writes');
});

test('drop forgets the queue: nothing more is sent and no flush callback runs', () => {
  const socket = slowSocket();
  const sender = new FragmentSender(socket.ws);
  sender.send(new Uint8Array(2 * WINDOW_BYTES));
  let flushed = false;
  sender.whenFlushed(() => (flushed = true));
  const before = socket.sent.length;
  sender.drop();
  socket.complete(before);
  assert.equal(socket.sent.length, before);
  assert.equal(flushed, false);
  sender.send(new Uint8Array(10));
  assert.equal(socket.sent.length, before);
});
