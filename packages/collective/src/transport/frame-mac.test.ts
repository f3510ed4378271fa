import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { FrameSealer, FrameVerifier, FRAME_TAG_BYTES, deriveLinkKeys } from './frame-mac.js';
import { codeOf } from '../testing.js';

const frames = [0, 1, 2].map((i) => ({ head: randomBytes(20 + i), payload: randomBytes(1000 * i) }));

function check(verifier: FrameVerifier, head: Uint8Array, payload: Uint8Array, tag: Uint8Array): void {
  verifier.update(head);
  // Pieces, as socket reads deliver them.
  for (let at = 0; at < payload.byteLength; at += 333) verifier.update(payload.subarray(at, at + 333));
  verifier.verify(tag);
}

test('keys differ by direction, nonce and secret; tags verify in order and fail on a flipped bit, a replay, a reorder or a drop', () => {
  const nonceD = randomBytes(32);
  const nonceA = randomBytes(32);
  const keys = deriveLinkKeys(Buffer.from('s'), 'g', 1, 0, nonceD, nonceA);
  assert.notDeepEqual(keys.dialerToAcceptor, keys.acceptorToDialer);
  assert.notDeepEqual(deriveLinkKeys(Buffer.from('s'), 'g', 1, 0, randomBytes(32), nonceA).dialerToAcceptor, keys.dialerToAcceptor);
  assert.notDeepEqual(deriveLinkKeys(Buffer.from('t'), 'g', 1, 0, nonceD, nonceA).dialerToAcceptor, keys.dialerToAcceptor);
  const sealer = new FrameSealer(keys.dialerToAcceptor);
  const tags = frames.map((f) => sealer.seal(f.head, f.payload));
  assert.ok(tags.every((t) => t.byteLength === FRAME_TAG_BYTES));
  const inOrder = new FrameVerifier(keys.dialerToAcceptor, 1);
  frames.forEach((f, i) => check(inOrder, f.head, f.payload, tags[i] as Buffer));

  const f0 = frames[0] as { head: Buffer; payload: Buffer };
  const f1 = frames[1] as { head: Buffer; payload: Buffer };
  const flipped = Buffer.from(f1.payload);
  flipped[500] = (flipped[500] as number) ^ 0x10;
  const v1 = new FrameVerifier(keys.dialerToAcceptor, 1);
  check(v1, f0.head, f0.payload, tags[0] as Buffer);
  assert.equal(codeOf(() => check(v1, f1.head, flipped, tags[1] as Buffer)), 'COLL_ERR_MAC');
  // Replay of frame 0 as the second frame; frame 1 delivered first (reorder); frame 0 dropped.
  const replay = new FrameVerifier(keys.dialerToAcceptor, 1);
  check(replay, f0.head, f0.payload, tags[0] as Buffer);
  assert.equal(codeOf(() => check(replay, f0.head, f0.payload, tags[0] as Buffer)), 'COLL_ERR_MAC');
  assert.equal(codeOf(() => check(new FrameVerifier(keys.dialerToAcceptor, 1), f1.head, f1.payload, tags[1] as Buffer)), 'COLL_ERR_MAC');
  // The other direction's key (a frame reflected back) does not verify.
  assert.equal(codeOf(() => check(new FrameVerifier(keys.acceptorToDialer, 1), f0.head, f0.payload, tags[0] as Buffer)), 'COLL_ERR_MAC');
});
