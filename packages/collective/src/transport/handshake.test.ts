import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { ProcessGroupListener } from '../processes/process-group-listener.js';
import type { ProcessGroup, ProcessGroupOptions } from '../processes/process-group.js';
import { rejectionCode } from '../testing.js';

type Extra = Pick<ProcessGroupOptions, 'localSize' | 'localSizes'>;

/**
 * Connects ranks 0..n-1 over loopback in this process, each with its own thread counts.
 * Whatever connects is closed when the test ends, so a failing test cannot hang the file.
 */
async function connectAll(t: TestContext, extras: Extra[]): Promise<Array<Promise<ProcessGroup>>> {
  const listeners = await Promise.all(extras.map(() => ProcessGroupListener.open({ host: '127.0.0.1', port: 0 })));
  const peers = listeners.map((l, rank) => ({ rank, host: '127.0.0.1', port: l.port }));
  const pending = extras.map((extra, rank) =>
    (listeners[rank] as ProcessGroupListener).connect({ rank, size: extras.length, peers, jobSecret: 'x', connectTimeoutMs: 10_000, ...extra })
  );
  t.after(async () => {
    listeners.forEach((l) => l.close());
    await Promise.all(pending.map((p) => p.then((g) => g.close(), () => undefined)));
  });
  return pending;
}

test('processes that disagree about the thread counts are refused in the handshake (COLL_ERR_CONFIG on both sides)', { timeout: 30_000 }, async (t) => {
  const t0 = Date.now();
  const pending = await connectAll(t, [{ localSizes: [1, 3] }, { localSizes: [2, 3] }]);
  assert.deepEqual(await Promise.all(pending.map(rejectionCode)), ['COLL_ERR_CONFIG', 'COLL_ERR_CONFIG']);
  assert.ok(Date.now() - t0 < 5_000, 'refused at once, not at the connect deadline');
  // The shorthand: localSize alone means every process hosts that many.
  const shorthand = await connectAll(t, [{ localSize: 2 }, { localSizes: [2, 3] }]);
  assert.deepEqual(await Promise.all(shorthand.map(rejectionCode)), ['COLL_ERR_CONFIG', 'COLL_ERR_CONFIG']);
});

test('processes that agree on unequal thread counts connect; the group knows every count', { timeout: 30_000 }, async (t) => {
  const groups = await Promise.all(await connectAll(t, [{ localSizes: [1, 3], localSize: 1 }, { localSizes: [1, 3] }]));
  assert.deepEqual(groups.map((g) => g.localSize), [1, 3]);
  assert.deepEqual(groups[1]?.localSizes, [1, 3]);
  assert.deepEqual(groups[1]?.layout.offsets, [0, 1, 4]);
  await Promise.all(groups.map((g) => g.barrier()));
});

test('thread counts that do not fit the group are bad arguments', { timeout: 30_000 }, async () => {
  const listener = await ProcessGroupListener.open();
  // A peer address that would get as far as the handshake (and fail otherwise): the checks come first.
  const base = { rank: 0, size: 2, peers: [{ rank: 1, host: '127.0.0.1', port: listener.port }], jobSecret: 'x', connectTimeoutMs: 2_000 };
  assert.equal(await rejectionCode(listener.connect({ ...base, localSizes: [1] })), 'COLL_ERR_ARGUMENT');
  assert.equal(await rejectionCode(listener.connect({ ...base, localSizes: [1, 0] })), 'COLL_ERR_ARGUMENT');
  assert.equal(await rejectionCode(listener.connect({ ...base, localSizes: [2, 1], localSize: 1 })), 'COLL_ERR_ARGUMENT');
  listener.close();
});
