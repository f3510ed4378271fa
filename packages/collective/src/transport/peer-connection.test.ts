import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { NONCE_BYTES, encodeFrameBytes } from '@tfjs-ddp/protocol';
import type { Message } from '@tfjs-ddp/protocol';
import { PeerConnection } from './peer-connection.js';
import { deriveLinkKeys } from './frame-mac.js';
import { codeOf } from '../testing.js';

const hello: Message = { v: 2, t: 'hello', group: 'g', from: 0, to: 1, size: 2, localSizes: [1, 1], nonce: new Uint8Array(NONCE_BYTES) };
const auth: Message = { v: 2, t: 'auth', proof: new Uint8Array(32) };
const ready = encodeFrameBytes({ v: 2, t: 'ready' });

test('a ready before the proofs were checked is a protocol error and the link stays down', () => {
  for (const before of [[], [hello], [hello, auth]]) {
    const c = new PeerConnection(0);
    for (const m of before) c.decoder.push(encodeFrameBytes(m));
    assert.equal(codeOf(() => c.decoder.push(ready)), 'COLL_ERR_PROTOCOL', `after ${before.map((m) => m.t).join(',') || 'nothing'}`);
    assert.equal(c.up, false);
  }
});

test('a ready once armed switches the receive side to tagged frames in the same read', () => {
  const c = new PeerConnection(0);
  c.decoder.push(Buffer.concat([encodeFrameBytes(hello), encodeFrameBytes(auth)]));
  c.armReady(deriveLinkKeys(Buffer.from('s'), 'g', 1, 0, randomBytes(32), randomBytes(32)));
  // ready, then an untagged bye in the same chunk: the bye is read as tagged and its missing tag never verifies.
  const sameRead = Buffer.concat([ready, encodeFrameBytes({ v: 2, t: 'bye' }), Buffer.alloc(16)]);
  assert.equal(codeOf(() => c.decoder.push(sameRead)), 'COLL_ERR_MAC');
  assert.equal(c.up, true);
});

test('a second hello, an auth before hello, and data before the handshake are refused', () => {
  const twice = new PeerConnection(0);
  twice.decoder.push(encodeFrameBytes(hello));
  assert.equal(codeOf(() => twice.decoder.push(encodeFrameBytes(hello))), 'COLL_ERR_PROTOCOL');
  assert.equal(codeOf(() => new PeerConnection(0).decoder.push(encodeFrameBytes(auth))), 'COLL_ERR_PROTOCOL');
  const data = encodeFrameBytes({ v: 2, t: 'data', g: 'w', s: 0, i: 0, off: 0, n: 0, dt: 'float32' });
  assert.equal(codeOf(() => new PeerConnection(0).decoder.push(data)), 'COLL_ERR_PROTOCOL');
});
