import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { QUESTIONS } from './questions/index.js';
import { armKey, baseArm, type RunConfig } from './run-config.js';
import { runStudy, type StudyOutcome, type StudyProgress } from './run-study.js';
import { rerenderStudyReport, type StudyResults } from './write-report.js';

// One tiny study (a training step per run, every question, arm and output), then checks on it.
const out = mkdtempSync(path.join(tmpdir(), 'tfjs-ddp-study-'));
let outcome: StudyOutcome;
let results: StudyResults;
const progress: StudyProgress[] = [];

before(async () => {
  outcome = await runStudy({ out, budget: 'tiny', workers: 2, onProgress: (p) => progress.push(p) });
  results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as StudyResults;
});

after(() => rmSync(out, { recursive: true, force: true }));

function armRuns(predicate: (c: RunConfig) => boolean): StudyResults['runs'] {
  return results.runs.filter((r) => predicate(r.config));
}

test('writes report.md, a standalone report.html, results.json and every figure', () => {
  for (const file of ['report.md', 'report.html', 'results.json']) assert.ok(existsSync(path.join(out, file)), file);
  const figures = readdirSync(path.join(out, 'figures'));
  const svgs = figures.filter((f) => f.endsWith('.svg'));
  assert.equal(svgs.length, figures.filter((f) => f.endsWith('.vl.json')).length, 'each SVG with its Vega-Lite spec');
  assert.ok(svgs.length >= QUESTIONS.length, 'at least one chart per question');
  const md = readFileSync(path.join(out, 'report.md'), 'utf8');
  const html = readFileSync(path.join(out, 'report.html'), 'utf8');
  for (const q of QUESTIONS) {
    assert.ok(md.includes(`## ${q.title}`), `report.md has ${q.id}`);
    assert.ok(html.includes(q.title), `report.html has ${q.id}`);
  }
  for (const svg of svgs) assert.ok(md.includes(`(figures/${svg})`), `report.md links ${svg}`);
  assert.equal((md.match(/\*\*What the numbers support\.\*\*/g) ?? []).length, QUESTIONS.length, 'each question ends with its findings');
  assert.equal((html.match(/<svg /g) ?? []).length, svgs.length, 'charts inlined in the HTML');
  assert.ok(!/<script|src="http/.test(html), 'the HTML needs nothing else');
  assert.ok(outcome.files.every((f) => existsSync(f)));
});

test('results.json: every arm of every question, once per seed, each run trained', () => {
  assert.equal(results.formatVersion, 1);
  assert.equal(results.meta.settings.name, 'tiny');
  assert.equal(results.questions.length, QUESTIONS.length);
  for (const q of results.questions) {
    assert.ok(q.findings.length >= 2 && q.findings.every((s) => s.length > 20 && /[.]$/.test(s)), `${q.id}: generated findings`);
    assert.equal(q.findings[0], q.headline.split(/(?<=\.) /)[0], `${q.id}: headline first`);
  }
  const seeds = results.meta.settings.seeds;
  const arms = new Set(QUESTIONS.flatMap((q) => q.arms(results.meta.settings).map((a) => armKey(a.config))));
  assert.equal(results.runs.length, arms.size * seeds.length);
  for (const run of results.runs) {
    assert.equal(run.stepsCompleted, run.steps, `${run.key} ran every step`);
    const own = run.config.ranks !== undefined || run.config.trainSamples !== undefined || run.config.epochs !== undefined;
    if (!own) assert.equal(run.steps, results.meta.stepsPerRun, `${run.key}: the budget's schedule`);
    else assert.ok(run.steps >= 1, `${run.key}: its question's schedule`);
    assert.ok(run.test.accuracy >= 0 && run.test.accuracy <= 1);
    assert.ok(run.trainLoss !== null && run.trainLoss > 0 && Number.isFinite(run.trainLoss), `${run.key}: a real training loss`);
    assert.ok(run.outcome === 'trained' || run.outcome === 'collapsed', `${run.key}: an outcome, ${run.outcome}`);
    assert.equal(run.predictedClassCounts?.reduce((a, b) => a + b, 0), results.meta.testSamples, `${run.key}: every test sample's class counted`);
  }
  assert.equal(progress[0]?.done, 0, 'progress before the first run, with the total');
  assert.equal(progress[0]?.total, results.runs.length);
  assert.equal(progress.filter((p) => p.phase === 'training' && p.run !== undefined).length, results.runs.length, 'progress after every run');
  assert.ok(progress.some((p) => p.etaSec !== undefined && p.etaSec >= 0));
  assert.ok(progress[0]?.expectedSec !== undefined && progress[0].expectedSec > 0, 'the expected time before the first run');
  assert.equal(results.meta.expectedSec, progress[0]?.expectedSec);
});

test('the numbers come from real runs: seeds differ, local BN differs from SyncBN on rank threads, momentum only moves inference', () => {
  for (const key of new Set(results.runs.map((r) => armKey(r.config)))) {
    const losses = results.runs.filter((r) => armKey(r.config) === key).map((r) => r.test.loss);
    assert.ok(new Set(losses).size > 1, `${key}: different seeds gave different test losses`);
  }
  const g = results.meta.settings.globalBatch;
  // Question 3 on real rank threads: at a per-replica batch of 2, local BN is not SyncBN over the 4 ranks' 8 samples.
  const threaded = (mode: string): StudyResults['runs'] => armRuns((c) => c.ranks?.perReplicaBatch === 2 && c.ranks.bnMode === mode && c.bnPlacement === 'before');
  const [localRanks, syncRanks] = [threaded('local'), threaded('sync')];
  assert.equal(localRanks.length, results.meta.settings.seeds.length);
  localRanks.forEach((r, i) => assert.notEqual(r.test.loss, syncRanks[i]?.test.loss, 'local BN over 2 samples is not SyncBN over 8'));
  // Question 2 measured its runs' own training samples for the over-fitting gap.
  assert.ok(armRuns((c) => c.trainSamples !== undefined).every((r) => r.trainScore !== undefined));
  const sync = armRuns((c) => armKey(c) === armKey(baseArm(g)));
  // BN momentum touches no weight: same batch-statistics curve, other moving statistics.
  const high = armRuns((c) => c.bnMomentum === 0.99);
  assert.equal(high.length, sync.length);
  high.forEach((r, i) => {
    assert.deepEqual(r.curve.map((p) => p.batch), sync[i]?.curve.map((p) => p.batch));
    assert.notEqual(r.test.loss, sync[i]?.test.loss);
  });
  // Test-batch statistics were measured where question 5 needs them, at every batch size.
  for (const r of sync) assert.deepEqual(r.batchStatistics.map((s) => s.batchSize), results.meta.settings.testBatchSizes);
});

test('the report shows the numbers of results.json', () => {
  const md = readFileSync(path.join(out, 'report.md'), 'utf8');
  const first = results.runs.find((r) => r.config.bnPlacement === 'none' && r.config.optimizer.name === 'adam' && r.config.dropout === 0);
  assert.ok(first !== undefined);
  assert.ok(md.includes(`${(first.test.accuracy * 100).toFixed(1)}`), 'a per-seed accuracy appears in the tables');
  assert.ok(md.includes(`${results.meta.trainSamples} training samples`));
  // Collapsed and diverged runs are counted apart in every arm table, and comparisons carry their interval.
  assert.ok(md.includes('| collapsed | diverged |'), 'separate collapse and divergence columns');
  assert.match(md, /95 % CI [−+±]\d+\.\d\d to [−+±]\d+\.\d\d points/);
  assert.doesNotMatch(md, /no clear difference|not clearly different/);
});

test('the report can be written again from results.json alone, identically', async () => {
  const again = mkdtempSync(path.join(tmpdir(), 'tfjs-ddp-study-again-'));
  try {
    await rerenderStudyReport({ from: path.join(out, 'results.json'), out: again });
    for (const file of ['report.md', 'report.html', 'results.json']) {
      assert.equal(readFileSync(path.join(again, file), 'utf8'), readFileSync(path.join(out, file), 'utf8'), file);
    }
    await assert.rejects(rerenderStudyReport({ from: path.join(out, 'report.md'), out: again }), { code: 'STUDY_ERR_BAD_OPTION' });
  } finally {
    rmSync(again, { recursive: true, force: true });
  }
});
