import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FRAME_TAG_BYTES } from '@tfjs-ddp/collective';
import { startFrameProxy, type FrameProxy } from './harness/frame-proxy.js';
import { launchPeerRanks, type PeerRanks } from './harness/peer-ranks.js';
import type { PeerRankReport } from './harness/peer-rank.js';
import { fuzzSeed, Prng } from './harness/prng.js';

/**
 * Issue 13 item 4: a man in the middle on one peer link of two real processes. Rank 1
 * reaches rank 0 through a proxy that flips one bit of the payload of the first gradient
 * frame of one step on its way from rank 0 to rank 1. Without per-frame authentication
 * both ranks would apply the same wrong sum and nothing would notice; with it the link
 * must fail with COLL_ERR_MAC naming rank 0, the step must be abandoned on both ranks
 * (each one's running total equals the undisturbed group's before that step), and
 * nothing may hang. Replay a run with TFJS_DDP_FUZZ_SEED=<the printed seed>.
 */
// 1.2 MB buffers: past the small-buffer threshold, so the ring runs and neither rank can finish a step whose first frame
// was refused (with recursive doubling the sender may finish the step its peer refused; the worker's step commit covers that).
const START = { secret: 'the-peer-secret', groupId: 'mitm-group', connectTimeoutMs: 20_000, steps: 8, length: 300_000 };
/** Both ranks must have failed within this long of the flip: far below the 30 s operation deadline. */
const FAIL_WITHIN_MS = 10_000;

const cleanup: Array<() => void> = [];
after(() => cleanup.forEach((c) => c()));

function stepTotals(reports: PeerRankReport[]): string[] {
  return reports.flatMap((m) => (m.kind === 'step' ? [m.total] : []));
}

const TITLE = 'a bit flipped in one gradient frame by a proxy on a peer link fails the link with COLL_ERR_MAC naming the peer; the step is abandoned';

test(TITLE, { timeout: 90_000 }, async (t) => {
  const seed = fuzzSeed((Math.random() * 0x100000000) >>> 0);
  t.diagnostic(`seed ${seed} (replay with TFJS_DDP_FUZZ_SEED=${seed})`);
  const prng = new Prng(seed);
  const quiet: PeerRanks = await launchPeerRanks(2, START);
  cleanup.push(() => quiet.kill());
  [0, 1].forEach((r) => quiet.release(r));
  await quiet.waitFor('the undisturbed group', () => quiet.reports.every((r) => r.some((m) => m.kind === 'result' || m.kind === 'error')), 60_000);
  assert.deepEqual(quiet.errors(), [undefined, undefined]);
  const expected = quiet.reports.map(stepTotals);

  // Flip in the first data frame of operation `target` (operations count from 0, one per step).
  const target = prng.range(1, START.steps - 2);
  const seqs: number[] = [];
  let flippedAt: number | undefined;
  let flip = '';
  const ranks = await launchPeerRanks(2, START);
  cleanup.push(() => ranks.kill());
  const proxy: FrameProxy = await startFrameProxy({
    targetPort: ranks.ports[0] as number,
    tagBytes: FRAME_TAG_BYTES,
    onFrame: (f) => {
      if (f.direction !== 'to-dialer' || f.message.t !== 'data' || f.payloadBytes === 0) return 'forward';
      if (!seqs.includes(f.message.s)) {
        seqs.push(f.message.s);
        if (seqs.length === target + 1 && flippedAt === undefined) {
          const at = prng.int(f.payloadBytes);
          const bit = prng.int(8);
          (f.bytes as Buffer)[f.payloadAt + at] = ((f.bytes[f.payloadAt + at] as number) ^ (1 << bit)) & 0xff;
          flippedAt = Date.now();
          flip = `operation ${f.message.s}, payload byte ${at} of ${f.payloadBytes}, bit ${bit}`;
        }
      }
      return 'forward';
    },
  });
  cleanup.push(() => proxy.close());
  ranks.release(0);
  ranks.releaseWith(1, [
    { rank: 0, host: '127.0.0.1', port: proxy.port },
    { rank: 1, host: '127.0.0.1', port: ranks.ports[1] as number },
  ]);
  await ranks.waitFor('both ranks to finish or fail', () => ranks.reports.every((r) => r.some((m) => m.kind === 'result' || m.kind === 'error')), 60_000);
  const failedMs = Date.now() - (flippedAt ?? Date.now());
  t.diagnostic(`flipped ${flip} (step ${target}); both ranks ended ${failedMs} ms later; errors ${JSON.stringify(ranks.errors())}`);
  assert.ok(flippedAt !== undefined, 'the proxy flipped a bit');
  const errors = ranks.reports.map((r) => r.find((m) => m.kind === 'error'));
  const onRank1 = errors[1];
  assert.ok(onRank1?.kind === 'error', 'rank 1 failed');
  assert.equal(onRank1.code, 'COLL_ERR_MAC', `rank 1: ${onRank1.message}`);
  assert.equal(onRank1.peer, 0, 'the failure names the peer whose frames failed');
  assert.ok(errors[0]?.kind === 'error', 'rank 0 failed too: the step is abandoned on both');
  assert.ok(failedMs < FAIL_WITHIN_MS, `the ranks took ${failedMs} ms to fail`);
  ranks.reports.forEach((r, rank) => {
    const applied = stepTotals(r);
    assert.equal(applied.length, target, `rank ${rank} applied exactly the steps before the tampered one`);
    assert.deepEqual(applied, expected[rank]?.slice(0, target), `rank ${rank}'s totals equal the undisturbed group's up to the tampered step`);
  });
  await ranks.exited(10_000);
});
