import { BYTES_PER_ELEMENT, isDtype } from './dtypes.js';
import { protocolError } from './errors.js';
import { previewValue } from './preview.js';
import { bin, int, list, only, str, type Fields } from './fields.js';
import { JOB_VALIDATORS } from './validate-job.js';
import { NONCE_BYTES, PAYLOAD_TYPES, PROOF_BYTES, PROTOCOL_VERSION } from './messages.js';
import type { Message, MessageType } from './messages.js';

/**
 * Checks a decoded header against the message types and the byte count that followed
 * it. Returns a fresh object holding only the validated fields (nothing else a peer
 * sent survives), or throws a `ProtocolError` with a stable code.
 */
export function validateMessage(decoded: unknown, payloadBytes: number): Message {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded) || decoded instanceof Uint8Array) {
    throw protocolError('PROTOCOL_ERR_FIELD', 'header is not a map');
  }
  const h = decoded as Fields;
  if (h['v'] !== PROTOCOL_VERSION) {
    throw protocolError('PROTOCOL_ERR_VERSION', `protocol version ${previewValue(h['v'], 32)} is not ${PROTOCOL_VERSION}`);
  }
  const t = h['t'];
  if (typeof t !== 'string' || !Object.hasOwn(VALIDATORS, t)) {
    throw protocolError('PROTOCOL_ERR_UNKNOWN_TYPE', `unknown message type ${previewValue(t, 64)}`);
  }
  const type = t as MessageType;
  if (!PAYLOAD_TYPES.has(type) && payloadBytes !== 0) {
    throw protocolError('PROTOCOL_ERR_LENGTH', `message ${type} carries no payload but ${payloadBytes} bytes followed`);
  }
  return VALIDATORS[type](h, payloadBytes);
}

const VALIDATORS: { readonly [T in MessageType]: (h: Fields, payloadBytes: number) => Extract<Message, { t: T }> } = {
  hello: (h) => {
    only(h, ['v', 't', 'group', 'from', 'to', 'size', 'localSizes', 'nonce']);
    const size = int(h, 'size', 1, 1 << 20);
    const localSizes = list(h, 'localSizes', size, (n, i) => threadCount(n, `localSizes[${i}]`));
    if (localSizes.length !== size) throw protocolError('PROTOCOL_ERR_FIELD', `localSizes lists ${localSizes.length} processes of ${size}`);
    return {
      v: PROTOCOL_VERSION,
      t: 'hello',
      group: str(h, 'group'),
      from: int(h, 'from', 0, size - 1),
      to: int(h, 'to', 0, size - 1),
      size,
      localSizes,
      nonce: bin(h, 'nonce', NONCE_BYTES)
    };
  },
  auth: (h) => {
    only(h, ['v', 't', 'proof']);
    return { v: PROTOCOL_VERSION, t: 'auth', proof: bin(h, 'proof', PROOF_BYTES) };
  },
  ready: (h) => {
    only(h, ['v', 't']);
    return { v: PROTOCOL_VERSION, t: 'ready' };
  },
  data: (h, payloadBytes) => {
    only(h, ['v', 't', 'g', 's', 'i', 'off', 'n', 'dt']);
    const dt = h['dt'];
    if (!isDtype(dt)) throw protocolError('PROTOCOL_ERR_DTYPE', `unknown dtype ${previewValue(dt, 32)}`);
    const n = int(h, 'n', 0, 0x7fffffff);
    if (n * BYTES_PER_ELEMENT[dt] !== payloadBytes) {
      throw protocolError('PROTOCOL_ERR_LENGTH', `data header says ${n} x ${dt} but ${payloadBytes} bytes followed`);
    }
    return {
      v: PROTOCOL_VERSION,
      t: 'data',
      g: str(h, 'g'),
      s: int(h, 's', 0, Number.MAX_SAFE_INTEGER),
      i: int(h, 'i', 0, 0x7fffffff),
      off: int(h, 'off', 0, 0x7fffffff),
      n,
      dt
    };
  },
  abort: (h) => {
    only(h, ['v', 't', 'code', 'rank', 'reason']);
    return { v: PROTOCOL_VERSION, t: 'abort', code: str(h, 'code'), rank: int(h, 'rank', 0, 1 << 20), reason: str(h, 'reason') };
  },
  bye: (h) => {
    only(h, ['v', 't']);
    return { v: PROTOCOL_VERSION, t: 'bye' };
  },
  ...JOB_VALIDATORS
};

/** Rank threads of one process in a hello (at least one). */
function threadCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1 << 16) {
    throw protocolError('PROTOCOL_ERR_FIELD', `${what} must be an integer in [1, ${1 << 16}]`);
  }
  return value;
}
