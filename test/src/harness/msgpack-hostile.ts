import type { Prng } from './prng.js';

/**
 * Structure-aware hostile msgpack headers (issue 13): each is one header a peer might
 * send, built byte by byte because msgpackr would never write most of them. All must be
 * refused by the decoder with PROTOCOL_ERR_DECODE, quickly and in bounded memory.
 */
export interface HostileHeader {
  readonly label: string;
  readonly bytes: Buffer;
}

/** `{v: 2, t: 'join', x: <raw>}`: the hostile value as one field of a plausible header. */
export function asField(raw: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0xa1, 0x76, 0x02, 0xa1, 0x74, 0xa4, ...Buffer.from('join'), 0xa1, 0x78]), raw]);
}

/** `{t: 'join', v: <raw>}`: as the version, which error messages used to quote whole. */
export function asVersion(raw: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x82, 0xa1, 0x74, 0xa4, ...Buffer.from('join'), 0xa1, 0x76]), raw]);
}

/** An ext value of `form` (fixext1..16, ext8/16/32) with type code `type` and `n` data bytes where the form allows. */
export function extValue(form: number, type: number, n = 1): Buffer {
  const fixed: Record<number, number> = { 0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16 };
  const size = fixed[form];
  if (size !== undefined) return Buffer.concat([Buffer.from([form, type]), Buffer.alloc(size)]);
  const len = Buffer.alloc(form === 0xc7 ? 1 : form === 0xc8 ? 2 : 4);
  if (form === 0xc7) len.writeUInt8(n);
  else if (form === 0xc8) len.writeUInt16BE(n);
  else len.writeUInt32BE(n);
  return Buffer.concat([Buffer.from([form]), len, Buffer.from([type]), Buffer.alloc(n)]);
}

export const EXT_FORMS: readonly number[] = [0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xc7, 0xc8, 0xc9];

/**
 * msgpackr's shared references: an array of `levels` entries, each an array holding the
 * previous one twice by reference (0x69 defines an id, 0x70 points to it). About 19
 * bytes a level; unfolded (by any stringifier) the last has 2^levels leaves.
 */
export function exponentialDag(levels: number): Buffer {
  const parts: number[] = [0xdc, (levels >> 8) & 0xff, levels & 0xff, 0xd6, 0x69, 0, 0, 0, 0, 0x92, 0xa1, 0x78, 0xa1, 0x78];
  for (let id = 1; id < levels; id++) parts.push(0xd6, 0x69, 0, 0, 0, id, 0x92, 0xd6, 0x70, 0, 0, 0, id - 1, 0xd6, 0x70, 0, 0, 0, id - 1);
  return Buffer.from(parts);
}

/** A container or string/bin header declaring `n` entries or bytes, with nothing behind it. */
export function hugeDeclared(form: number, n: number): Buffer {
  const wide = form === 0xdd || form === 0xdf || form === 0xdb || form === 0xc6;
  const len = Buffer.alloc(wide ? 4 : 2);
  // The 16-bit forms declare their largest count: still far more than the bytes behind it.
  if (wide) len.writeUInt32BE(n >>> 0);
  else len.writeUInt16BE(Math.max(0x8000, n & 0xffff));
  return Buffer.concat([Buffer.from([form]), len]);
}

/** The fixed corpus: one of each kind. */
export function hostileCorpus(): HostileHeader[] {
  return [
    { label: 'dag-40', bytes: exponentialDag(40) },
    { label: 'dag-21-as-version', bytes: asVersion(exponentialDag(21)) },
    { label: 'dag-21-trailing', bytes: Buffer.concat([exponentialDag(21), Buffer.from([0xc0])]) },
    { label: 'record-definition', bytes: asField(Buffer.from([0xd4, 0x72, 0x40])) },
    { label: 'bigint-ext', bytes: asVersion(extValue(0xc7, 0x42, 200)) },
    { label: 'array32-max', bytes: asField(hugeDeclared(0xdd, 0xffffffff)) },
    { label: 'map32-max', bytes: asField(hugeDeclared(0xdf, 0xffffffff)) },
    { label: 'str32-max', bytes: asField(hugeDeclared(0xdb, 0xffffffff)) },
    { label: 'bin32-max', bytes: asField(hugeDeclared(0xc6, 0xffffffff)) },
    { label: 'nest-10000', bytes: asField(Buffer.concat([Buffer.alloc(10_000, 0x91), Buffer.from([0xc0])])) },
  ];
}

/** `count` random hostile headers: every ext form and type code, DAGs, lying lengths, deep nesting. */
export function hostileHeaders(prng: Prng, count: number): HostileHeader[] {
  const out: HostileHeader[] = [];
  for (let i = 0; i < count; i++) {
    const wrap = prng.pick([(b: Buffer): Buffer => b, asField, asVersion]);
    const kind = prng.int(5);
    if (kind === 0) {
      const form = prng.pick(EXT_FORMS);
      const type = prng.int(256);
      out.push({ label: `ext-0x${form.toString(16)}-type-${type}`, bytes: wrap(extValue(form, type, prng.range(0, 64))) });
    } else if (kind === 1) {
      const levels = prng.range(2, 200);
      out.push({ label: `dag-${levels}`, bytes: wrap(exponentialDag(levels)) });
    } else if (kind === 2) {
      const form = prng.pick([0xdc, 0xdd, 0xde, 0xdf, 0xda, 0xdb, 0xc5, 0xc6]);
      const n = prng.pick([0xffff, 0xffffffff, 0x7fffffff, 1 << 24, 0x8000 + prng.int(0x100000000 - 0x8000)]);
      out.push({ label: `declared-0x${form.toString(16)}-${n}`, bytes: wrap(hugeDeclared(form, n)) });
    } else if (kind === 3) {
      const depth = prng.range(17, 12_000);
      out.push({ label: `nest-${depth}`, bytes: wrap(Buffer.concat([Buffer.alloc(depth, prng.pick([0x91, 0x81])), Buffer.from([0xc0])])) });
    } else {
      out.push({ label: 'record', bytes: wrap(Buffer.from([0xd4, 0x72, prng.int(256)])) });
    }
  }
  return out;
}
