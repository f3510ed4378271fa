import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeMesh } from '../transport/fake-link.js';
import { allocReduceBuffer } from '../reduce/reduce-engine.js';
import { ScheduleCollectives } from '../processes/schedule-collectives.js';
import type { AllReduceAlgorithm } from '../processes/schedule-collectives.js';
import { assertBitIdentical, assertClose, inputFor, reference } from '../testing.js';
import { partition } from './transfer-schedule.js';
import { ringAllReduce } from './ring.js';
import { stagedPlacement } from './staged-placement.js';
import type { Range } from './staged-placement.js';

const SIZES = [1, 2, 3, 5, 7, 13, 31, 97, 1000, 4099, 65537];

function groups(size: number, algorithm: AllReduceAlgorithm, segmentBytes: number, maxDelayMs: number): ScheduleCollectives[] {
  const mesh = fakeMesh(size, maxDelayMs);
  return Array.from({ length: size }, (_, r) => new ScheduleCollectives(r, size, 'g', (q) => mesh[r]?.[q] as never, { smallBytes: 0, segmentBytes, algorithm }));
}

const total = (ranges: readonly Range[]): number => ranges.reduce((s, [, count]) => s + count, 0);

test('ring placement: stages every chunk but the first one sent, copies back only the chunk this rank reduced', () => {
  for (let size = 2; size <= 5; size++) {
    for (const n of SIZES) {
      // Schedules cost O(transfers^2) to build: one-element segments only for small buffers.
      for (const segment of n > 1000 ? [1000, 1 << 20] : [1, 7, 1 << 20]) {
        for (let rank = 0; rank < size; rank++) {
          const placement = stagedPlacement(ringAllReduce(rank, size, n, segment));
          assert.ok(placement, `P=${size} n=${n} segment ${segment}: the ring's ranges are equal or disjoint`);
          const bounds = partition(n, size);
          const chunk = (c: number): number => (bounds[c + 1] as number) - (bounds[c] as number);
          const first = (rank - 1 + size) % size;
          const what = `P=${size} n=${n} segment ${segment} rank ${rank}`;
          assert.equal(total(placement.copyIn), n - chunk(first), `${what}: copied in`);
          assert.equal(total(placement.copyOut), chunk(rank), `${what}: copied out`);
          for (const [offset, count] of placement.copyOut) {
            assert.ok(offset >= (bounds[rank] as number) && offset + count <= (bounds[rank + 1] as number), `${what}: copied out [${offset}, +${count})`);
          }
        }
      }
    }
  }
});

test('all-reduces of buffers outside wasm memory (staged in part) match a float64 reference and the in-place path, bit for bit', async () => {
  let worst = 0;
  for (const algorithm of ['ring', 'recursive-doubling'] as const) {
    for (let size = 1; size <= 5; size++) {
      for (const n of SIZES) {
        // Segments of 7 elements cut chunks at odd places; larger sizes use bigger ones to stay quick.
        const segmentBytes = n > 5000 ? 16384 : 28;
        const staged = groups(size, algorithm, segmentBytes, n < 100 ? 2 : 0);
        const inPlace = groups(size, algorithm, segmentBytes, 0);
        const arenas = inPlace.map(() => allocReduceBuffer(n));
        for (const op of ['sum', 'max'] as const) {
          const inputs = staged.map((_, r) => inputFor(r, n, 3));
          const plain = inputs.map((x) => x.slice());
          const wasm = inputs.map((x, r) => {
            const b = arenas[r] as Float32Array;
            b.set(x);
            return b;
          });
          await Promise.all(staged.map((g, r) => g.allReduce(plain[r] as Float32Array, op)));
          await Promise.all(inPlace.map((g, r) => g.allReduce(wasm[r] as Float32Array, op)));
          const what = `${algorithm} P=${size} n=${n} ${op}`;
          const expected = reference(inputs, op);
          assertClose(plain[0] as Float32Array, expected, what);
          assertBitIdentical([...plain, ...wasm], what);
          for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(((plain[0] as Float32Array)[i] as number) - (expected[i] as number)));
        }
      }
    }
  }
  console.log(`staged-in-part all-reduce: largest |float32 result - float64 reference| ${worst.toExponential(2)}`);
});

test('placement is refused where a staged copy taken up front would be stale', () => {
  const transfers = [
    { kind: 'recv' as const, peer: 1, offset: 0, count: 4, combine: false, deps: [], tag: 0 },
    { kind: 'recv' as const, peer: 1, offset: 0, count: 4, combine: true, deps: [0], tag: 1 }
  ];
  assert.equal(stagedPlacement({ algorithm: 't', rank: 0, size: 2, length: 4, transfers }), undefined, 'combine after an overwrite');
  const partial = [
    { kind: 'recv' as const, peer: 1, offset: 0, count: 4, combine: true, deps: [], tag: 0 },
    { kind: 'send' as const, peer: 1, offset: 2, count: 2, combine: false, deps: [0], tag: 0 }
  ];
  assert.equal(stagedPlacement({ algorithm: 't', rank: 0, size: 2, length: 4, transfers: partial }), undefined, 'ranges that overlap in part');
});
