import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectiveError } from '../errors.js';
import { fakeMesh } from '../transport/fake-link.js';
import { ScheduleCollectives } from './schedule-collectives.js';
import type { AllReduceAlgorithm } from './schedule-collectives.js';
import { AWKWARD_SIZES, assertBitIdentical, assertClose, inputFor, reference, rejectionCode } from '../testing.js';

// Segments of 7 elements exercise segment boundaries; large sizes use bigger ones to keep
// the schedules (and the test) short.
function groups(size: number, algorithm: AllReduceAlgorithm, segmentBytes = 28, maxDelayMs = 0): ScheduleCollectives[] {
  const mesh = fakeMesh(size, maxDelayMs);
  return Array.from(
    { length: size },
    (_, r) => new ScheduleCollectives(r, size, 'g', (q) => mesh[r]?.[q] as never, { smallBytes: 0, segmentBytes, algorithm })
  );
}

for (const algorithm of ['ring', 'recursive-doubling'] as const) {
  test(`${algorithm} all-reduce: P=1..5, awkward sizes, sum/mean/max, exact and bit-identical`, async () => {
    for (let size = 1; size <= 5; size++) {
      for (const n of AWKWARD_SIZES) {
        const ranks = groups(size, algorithm, n > 100 ? (n > 5000 ? 16384 : 256) : 28);
        for (const op of ['sum', 'mean', 'max'] as const) {
          const inputs = ranks.map((_, r) => inputFor(r, n, size));
          const bufs = inputs.map((x) => x.slice());
          await Promise.all(ranks.map((g, r) => g.allReduce(bufs[r] as Float32Array, op)));
          const what = `${algorithm} P=${size} n=${n} ${op}`;
          assertClose(bufs[0] as Float32Array, reference(inputs, op), what);
          assertBitIdentical(bufs, what);
        }
      }
    }
  });
}

test('ring all-reduce stays correct when deliveries are delayed at random', async () => {
  const ranks = groups(4, 'ring', 40, 3);
  for (const n of [1, 97, 1000]) {
    const inputs = ranks.map((_, r) => inputFor(r, n));
    const bufs = inputs.map((x) => x.slice());
    // Two operations back to back: the second's frames may overtake the first's completion.
    const again = inputs.map((x) => x.slice());
    await Promise.all(ranks.flatMap((g, r) => [g.allReduce(bufs[r] as Float32Array, 'sum'), g.allReduce(again[r] as Float32Array, 'max')]));
    assertClose(bufs[2] as Float32Array, reference(inputs, 'sum'), `n=${n}`);
    assertClose(again[1] as Float32Array, reference(inputs, 'max'), `n=${n} max`);
    assertBitIdentical(bufs, `n=${n}`);
  }
});

test('broadcast, allGather, reduceScatter and barrier over P=1..5', async () => {
  for (let size = 1; size <= 5; size++) {
    for (const n of [0, 1, 7, 1000]) {
      const ranks = groups(size, 'ring', n > 100 ? 400 : 8);
      for (let root = 0; root < size; root++) {
        const bufs = ranks.map((_, r) => inputFor(r, n));
        const expected = bufs[root]?.slice() as Float32Array;
        await Promise.all(ranks.map((g, r) => g.broadcast(bufs[r] as Float32Array, root)));
        bufs.forEach((b) => assert.deepEqual(b, expected));
      }
      const inputs = ranks.map((_, r) => inputFor(r, n, 1));
      const outs = ranks.map(() => new Float32Array(n * size));
      await Promise.all(ranks.map((g, r) => g.allGather(inputs[r] as Float32Array, outs[r] as Float32Array)));
      const gathered = new Float32Array(n * size);
      inputs.forEach((x, r) => gathered.set(x, r * n));
      outs.forEach((o) => assert.deepEqual(o, gathered));

      const full = ranks.map((_, r) => inputFor(r, n * size, 2));
      const chunks = ranks.map(() => new Float32Array(n));
      await Promise.all(ranks.map((g, r) => g.reduceScatter(full[r] as Float32Array, chunks[r] as Float32Array, 'mean')));
      const whole = reference(full, 'mean');
      chunks.forEach((c, r) => assertClose(c, whole.subarray(r * n, (r + 1) * n), `reduceScatter P=${size} n=${n} rank ${r}`));
      assert.deepEqual(full[0], inputFor(0, n * size, 2), 'reduceScatter leaves its input alone');
      await Promise.all(ranks.map((g) => g.barrier()));
    }
  }
});

test('allGather and reduceScatter over parts of different sizes (processes of different thread counts), in place', async () => {
  for (let size = 1; size <= 5; size++) {
    for (const per of [0, 1, 7, 300]) {
      // Rank q's part holds `per` elements per thread, with 1..3 threads (cycling), one part empty when per = 0.
      const threads = Array.from({ length: size }, (_, q) => [2, 1, 3][q % 3] as number);
      const bounds = [0];
      for (const t of threads) bounds.push((bounds[bounds.length - 1] as number) + t * per);
      const total = bounds[size] as number;
      const ranks = groups(size, 'ring', per > 100 ? 400 : 8);
      const parts = ranks.map((_, q) => inputFor(q, (bounds[q + 1] as number) - (bounds[q] as number), 11));
      const bufs = ranks.map((_, q) => {
        const b = new Float32Array(total);
        b.set(parts[q] as Float32Array, bounds[q]);
        return b;
      });
      await Promise.all(ranks.map((g, q) => g.allGatherParts(bufs[q] as Float32Array, bounds)));
      const gathered = new Float32Array(total);
      parts.forEach((x, q) => gathered.set(x, bounds[q]));
      bufs.forEach((b, q) => assert.deepEqual(b, gathered, `allGatherParts P=${size} per=${per} rank ${q}`));

      for (const op of ['sum', 'max'] as const) {
        const full = ranks.map((_, q) => inputFor(q, total, 12));
        const work = full.map((x) => x.slice());
        await Promise.all(ranks.map((g, q) => g.reduceScatterParts(work[q] as Float32Array, bounds, op)));
        const whole = reference(full, op);
        work.forEach((w, q) => {
          const [s, e] = [bounds[q] as number, bounds[q + 1] as number];
          assertClose(w.subarray(s, e), whole.subarray(s, e), `reduceScatterParts ${op} P=${size} per=${per} rank ${q}`);
        });
      }
    }
  }
  const [only] = groups(1, 'ring');
  assert.throws(() => (only as ScheduleCollectives).allGatherParts(new Float32Array(4), [0, 3]), { code: 'COLL_ERR_ARGUMENT' });
});

test('a barrier does not complete before every rank has entered it', async () => {
  const ranks = groups(5, 'ring');
  let entered = 0;
  const done = ranks.map(async (g, r) => {
    await new Promise((resolve) => setTimeout(resolve, r * 5));
    entered++;
    await g.barrier();
    assert.equal(entered, 5);
  });
  await Promise.all(done);
});

test('a transfer that does not match the expected one fails with COLL_ERR_DESYNC', async () => {
  const ranks = groups(2, 'ring');
  const a = ranks[0]?.allReduce(new Float32Array(10), 'sum') as Promise<void>;
  const b = ranks[1]?.allReduce(new Float32Array(12), 'sum') as Promise<void>;
  const codes = await Promise.all([rejectionCode(a), rejectionCode(b)]);
  assert.ok(codes.includes('COLL_ERR_DESYNC'), codes.join());
});

test('a failed link rejects the pending operation with its code and peer', async () => {
  const mesh = fakeMesh(3);
  const options = { smallBytes: 0, segmentBytes: 64, algorithm: 'ring' as const };
  const ranks = Array.from({ length: 3 }, (_, r) => new ScheduleCollectives(r, 3, 'g', (q) => mesh[r]?.[q] as never, options));
  const pending = [ranks[0]?.allReduce(new Float32Array(100), 'sum'), ranks[1]?.allReduce(new Float32Array(100), 'sum')];
  mesh[0]?.[2]?.fail(collectiveError('COLL_ERR_PEER_LOST', 'gone', 2));
  mesh[1]?.[2]?.fail(collectiveError('COLL_ERR_PEER_LOST', 'gone', 2));
  for (const p of pending) assert.equal(await rejectionCode(p as Promise<void>), 'COLL_ERR_PEER_LOST');
});

test('compressed all-reduce over fake links: both algorithms, P=1..5, delayed deliveries, halves split across reads: bit-identical, within tolerance', async () => {
  for (const algorithm of ['ring', 'recursive-doubling'] as const) {
    for (const dt of ['bfloat16', 'float16'] as const) {
      const u = dt === 'bfloat16' ? 2 ** -8 : 2 ** -11;
      for (let size = 1; size <= 5; size++) {
        // Random delays: frames often arrive before their receive is posted (the early path).
        const ranks = groups(size, algorithm, 4096, 2);
        for (const n of [0, 1, 13, 4099]) {
          const inputs = ranks.map((_, r) => inputFor(r, n, size));
          const bufs = inputs.map((x) => x.slice());
          await Promise.all(ranks.map((g, r) => g.allReduce(bufs[r] as Float32Array, 'mean', dt)));
          const what = `${algorithm} ${dt} P=${size} n=${n}`;
          assertBitIdentical(bufs, what);
          const want = reference(inputs, 'mean');
          for (let i = 0; i < n; i++) {
            const magnitude = inputs.reduce((acc, x) => acc + Math.abs(x[i] as number), 0) / size;
            const err = Math.abs((bufs[0]?.[i] as number) - (want[i] as number));
            if (!(err <= (size + 1) * u * magnitude + 2 ** -24)) assert.fail(`${what} element ${i}: error ${err}`);
          }
        }
      }
    }
  }
});

test('ranks that disagree on the wire format fail with COLL_ERR_DESYNC, not with wrong numbers', async () => {
  const ranks = groups(2, 'ring', 4096);
  const bufs = [inputFor(0, 100), inputFor(1, 100)];
  const codes = await Promise.all([rejectionCode(ranks[0]?.allReduce(bufs[0] as Float32Array, 'sum', 'bfloat16') as Promise<void>),
    rejectionCode(ranks[1]?.allReduce(bufs[1] as Float32Array, 'sum', 'float32') as Promise<void>)]);
  assert.ok(codes.includes('COLL_ERR_DESYNC'), `codes: ${codes.join(', ')}`);
});
