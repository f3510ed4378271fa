import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { decodeHeader } from './frame.js';
import { NONCE_BYTES, PROTOCOL_VERSION } from './messages.js';
import type { Message } from './messages.js';
import { validateMessage } from './validate.js';

const packr = new Packr({ useRecords: false });
const hello: Message = {
  v: PROTOCOL_VERSION,
  t: 'hello',
  group: 'job-1/0',
  from: 0,
  to: 1,
  size: 2,
  localSizes: [1, 3],
  nonce: new Uint8Array(NONCE_BYTES).fill(7)
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  return 'no error';
}

test('every message type survives encode, decode and validation', () => {
  const messages: Array<[Message, number]> = [
    [hello, 0],
    [{ v: 2, t: 'auth', proof: new Uint8Array(32).fill(1) }, 0],
    [{ v: 2, t: 'ready' }, 0],
    [{ v: 2, t: 'data', g: 'w', s: 3, i: 1, off: 10, n: 5, dt: 'float32' }, 20],
    [{ v: 2, t: 'data', g: 'w', s: 3, i: 1, off: 10, n: 5, dt: 'uint16' }, 10],
    [{ v: 2, t: 'data', g: 'w', s: 3, i: 1, off: 10, n: 5, dt: 'bfloat16' }, 10],
    [{ v: 2, t: 'data', g: 'w', s: 3, i: 1, off: 10, n: 5, dt: 'float16' }, 10],
    [{ v: 2, t: 'abort', code: 'COLL_ERR_PEER_LOST', rank: 2, reason: 'closed' }, 0],
    [{ v: 2, t: 'bye' }, 0]
  ];
  for (const [message, bytes] of messages) {
    assert.deepEqual(decodeHeader(packr.pack(message), bytes), message);
  }
});

test('bad headers are refused with stable codes', () => {
  const data = { v: 2, t: 'data', g: 'w', s: 0, i: 0, off: 0, n: 4, dt: 'float32' };
  assert.equal(code(() => validateMessage({ ...hello, v: 1 }, 0)), 'PROTOCOL_ERR_VERSION');
  assert.equal(code(() => validateMessage({ v: 2, t: 'shutdown' }, 0)), 'PROTOCOL_ERR_UNKNOWN_TYPE');
  assert.equal(code(() => validateMessage({ v: 2, t: '__proto__' }, 0)), 'PROTOCOL_ERR_UNKNOWN_TYPE');
  assert.equal(code(() => validateMessage([1, 2], 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage(null, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, extra: 1 }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, from: 2 }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, size: 1.5 }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, nonce: new Uint8Array(3) }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, localSizes: [1] }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, localSizes: [1, 3, 2] }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, localSizes: [1, 0] }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, localSizes: [1, 1.5] }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, localSizes: 2 }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...hello, group: 'x'.repeat(5000) }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage(hello, 4)), 'PROTOCOL_ERR_LENGTH');
  assert.equal(code(() => validateMessage({ ...data, dt: 'float64' }, 16)), 'PROTOCOL_ERR_DTYPE');
  assert.equal(code(() => validateMessage(data, 15)), 'PROTOCOL_ERR_LENGTH');
  assert.equal(code(() => validateMessage({ ...data, dt: 'bfloat16' }, 16)), 'PROTOCOL_ERR_LENGTH');
  assert.equal(code(() => validateMessage({ ...data, n: -1 }, 0)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => validateMessage({ ...data, off: '0' }, 16)), 'PROTOCOL_ERR_FIELD');
  assert.equal(code(() => decodeHeader(packr.pack(hello).subarray(0, 10), 0)), 'PROTOCOL_ERR_DECODE');
  assert.equal(code(() => decodeHeader(Buffer.from([0xd9, 0x05, 0x61]), 0)), 'PROTOCOL_ERR_DECODE');
});

test('validation returns only the validated fields, with a copied nonce', () => {
  const nonce = new Uint8Array(NONCE_BYTES).fill(9);
  const out = validateMessage({ ...hello, nonce }, 0);
  assert.ok(out.t === 'hello');
  nonce.fill(0);
  assert.equal(out.nonce[0], 9);
});
