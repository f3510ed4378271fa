import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { launchPeerRanks, type PeerRanks } from './harness/peer-ranks.js';
import { fuzzSeed, Prng } from './harness/prng.js';
import { peerCases, runPeerFuzz } from './harness/tcp-fuzz.js';

/**
 * Issue 7, test 5 (peer-link side): strangers connect to the peer-link ports of a
 * process group of three real processes while it forms — ranks 0 and 1 are connecting
 * and wait for rank 2, whose listener holds early sockets until it connects — and send
 * garbage, mutated hello/auth frames, hellos that name the wrong group, size or rank,
 * and well-formed hellos followed by a proof made without the secret. Each stranger must
 * be closed (after an abort with a code where its hello or proof was refused) and none
 * may get a link; the group must form and its all-reduces must equal, bit for bit, those
 * of the same group undisturbed. Today a listener closes once its group is connected, so
 * strangers that come later are refused by the OS; were it kept open, they would be
 * judged the same way.
 *
 * Reproduce a failure with TFJS_DDP_FUZZ_SEED=<the printed seed>.
 */
const SEED = fuzzSeed(0x9e3779);
const CASES = 6_000;
/** How long ranks 0 and 1 wait for rank 2 while the strangers come. */
const FORMING_MS = 10_000;
const START = { secret: 'the-peer-secret', groupId: 'fuzz-group', connectTimeoutMs: 25_000, steps: 12, length: 4099 };

const groups: PeerRanks[] = [];
after(() => groups.forEach((g) => g.kill()));

async function run(ranks: PeerRanks): Promise<string[]> {
  await ranks.waitFor('every total', () => ranks.reports.every((r) => r.some((m) => m.kind === 'result' || m.kind === 'error')), 60_000);
  assert.deepEqual(ranks.errors(), [undefined, undefined, undefined], 'no rank failed');
  await ranks.exited(10_000);
  return ranks.totals();
}

test('strangers on the peer-link ports of a forming 3-process group are each closed; the group forms and computes bit-identically', { timeout: 120_000 }, async () => {
  const quiet = await launchPeerRanks(3, START);
  groups.push(quiet);
  [0, 1, 2].forEach((r) => quiet.release(r));
  const expected = await run(quiet);
  assert.ok(expected[0] !== '' && expected.every((t) => t === expected[0]), 'every rank of the undisturbed group has the same totals');

  const ranks = await launchPeerRanks(3, START);
  groups.push(ranks);
  ranks.release(0);
  ranks.release(1);
  const started = Date.now();
  const cases = peerCases(new Prng(SEED), CASES, { group: START.groupId, size: 3 }, [0, 1, 2]);
  let done = 0;
  const fuzz = runPeerFuzz(ranks.ports, cases, { concurrency: 64, timeoutMs: START.connectTimeoutMs + 15_000, onCase: (n) => (done = n) });
  await ranks.waitFor('the strangers', () => Date.now() - started > FORMING_MS || done >= CASES * 0.6, FORMING_MS + 5_000);
  const beforeRelease = done;
  ranks.release(2);
  const tally = await fuzz;
  const totals = await run(ranks);
  const connected = ranks.reports.map((r) => (r.find((m) => m.kind === 'connected') as { ms: number } | undefined)?.ms);
  console.log(
    JSON.stringify({
      fuzz: 'peer-link',
      seed: SEED,
      connections: tally.connections,
      framesSent: tally.frames,
      whileForming: beforeRelease,
      closedByListener: tally.closes,
      abortsByCode: tally.aborts,
      handshakeReplies: tally.handshakeReplies,
      listenerAlreadyClosed: tally.listenerClosed,
      resetUnanswered: tally.resetUnanswered,
      slowestCloseMs: tally.closeMs.max,
      failures: tally.failures.length,
      connectMs: connected,
      durationMs: Date.now() - started,
    }),
  );
  assert.deepEqual(tally.failures.slice(0, 10), [], `${tally.failures.length} of ${tally.connections} strangers were not handled as they should be (seed ${SEED})`);
  assert.ok(tally.closes > 0, 'some strangers reached a live listener');
  assert.deepEqual(totals, expected, 'the fuzzed group computes what the undisturbed one does');
});
