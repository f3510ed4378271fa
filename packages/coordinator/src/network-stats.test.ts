import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RankStepReport, StructuredLog } from '@tfjs-ddp/protocol';
import { NETWORK_WINDOW_STEPS, NetworkBoundWarning, NetworkWindow, formatBitRate } from './network-stats.js';

function rank(allReduceMs: number, computeMs = 100): RankStepReport {
  return { rank: 0, lossSum: 1, correct: 0, count: 32, computeMs, syncBnMs: 0, allReduceMs, applyMs: 0, waitMs: 0 };
}

/** A window past its ring's first report (rank 0's state broadcast rides on it; it stays out of the per-step figures). */
function startedWindow(): NetworkWindow {
  const w = new NetworkWindow();
  w.record({ sentBytes: 999_999, receivedBytes: 999_999, payloadBytes: 999_000, netMs: 900 }, [rank(900)], 0);
  return w;
}

function recordingLog(): { log: StructuredLog; warnings: { fields: Record<string, unknown>; message: string }[] } {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const none = (): void => undefined;
  const log = { debug: none, info: none, error: none, warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }) };
  return { log: log as unknown as StructuredLog, warnings };
}

test('a worker window: bytes per step as window means, totals, the rate its links achieved and the share of the step they took', () => {
  const w = new NetworkWindow();
  assert.equal(w.status(), null);
  w.record({ sentBytes: 999_999, receivedBytes: 999_999, payloadBytes: 999_000, netMs: 900 }, [rank(900)], 0);
  assert.equal(w.status(), null, 'the ring\'s first report (its start-up) is not a step of the window');
  // 424 KB in 340 ms of a 440 ms step (the slower of its two ranks), then one step of 10 KB.
  w.record({ sentBytes: 424_000, receivedBytes: 423_000, payloadBytes: 423_800, netMs: 340 }, [rank(340), rank(300, 90)], 0);
  w.record({ sentBytes: 10_000, receivedBytes: 9_000, payloadBytes: 9_900, netMs: 10 }, [rank(10, 90)], 0);
  const s = w.status();
  assert.ok(s !== null);
  // Means: a rank inside the next step's collectives moves bytes across the report boundary; the window evens that out.
  assert.equal(s.sentBytesPerStep, 217_000);
  assert.equal(s.receivedBytesPerStep, 216_000);
  assert.equal(s.payloadBytesPerStep, 216_850);
  assert.equal(s.netMsPerStep, 175);
  assert.equal(s.sentBytesTotal, 1_433_999);
  assert.equal(s.receivedBytesTotal, 1_431_999);
  assert.equal(s.windowSteps, 2);
  assert.ok(Math.abs((s.linkBitsPerSec ?? 0) - (8 * 434_000) / 0.35) < 1e-6);
  assert.ok(Math.abs((s.networkFraction ?? 0) - 350 / (440 + 100)) < 1e-12);
});

test('the window keeps the last steps only, and never reports more than the whole step as network time', () => {
  const w = startedWindow();
  for (let i = 0; i < NETWORK_WINDOW_STEPS; i++) w.record({ sentBytes: 1000, receivedBytes: 1000, payloadBytes: 900, netMs: 1 }, [rank(1)], 0);
  // A slow window: the fast steps leave it.
  for (let i = 0; i < NETWORK_WINDOW_STEPS; i++) w.record({ sentBytes: 1000, receivedBytes: 1000, payloadBytes: 900, netMs: 500 }, [rank(100, 0)], 0);
  const s = w.status();
  assert.equal(s?.windowSteps, NETWORK_WINDOW_STEPS);
  assert.equal(s?.networkFraction, 1);
  assert.equal(s?.linkBitsPerSec, (8 * 1000) / 0.5);
});

test('the network-bound warning: once, only after a full window above half the step, naming the rate and compression', () => {
  const { log, warnings } = recordingLog();
  const warning = new NetworkBoundWarning(log);
  const fast = startedWindow();
  const slow = startedWindow();
  for (let i = 0; i < NETWORK_WINDOW_STEPS; i++) {
    fast.record({ sentBytes: 424_000, receivedBytes: 424_000, payloadBytes: 423_000, netMs: 20 }, [rank(20)], 0);
    assert.equal(warning.check('w1', fast), false);
    slow.record({ sentBytes: 424_000, receivedBytes: 424_000, payloadBytes: 423_000, netMs: 340 }, [rank(340)], 0);
    // Not before the window is full: one slow step is no evidence.
    assert.equal(warning.check('w2', slow), i === NETWORK_WINDOW_STEPS - 1);
  }
  assert.equal(warning.check('w2', slow), false);
  assert.equal(warnings.length, 1);
  const only = warnings[0];
  assert.match(only?.message ?? '', /network bounds the step: worker w2 spent 77% .* 424\.0 KB per step at 10\.0 Mbit\/s; .*--compress bf16/);
  assert.equal(only?.fields['worker'], 'w2');
});

test('bit rates read in the unit that fits', () => {
  assert.deepEqual([2.5e9, 9.98e6, 5e3].map(formatBitRate), ['2.50 Gbit/s', '10.0 Mbit/s', '5.0 kbit/s']);
});

test('a new ring\'s first report (its state broadcast) counts in the totals, not in the per-step window', () => {
  const w = startedWindow();
  w.record({ sentBytes: 1000, receivedBytes: 1000, payloadBytes: 900, netMs: 1 }, [rank(1)], 0);
  w.record({ sentBytes: 80_000, receivedBytes: 80_000, payloadBytes: 79_000, netMs: 50 }, [rank(50)], 1);
  const s = w.status();
  assert.equal(s?.windowSteps, 1);
  assert.equal(s?.payloadBytesPerStep, 900);
  assert.equal(s?.sentBytesTotal, 999_999 + 1000 + 80_000);
});
