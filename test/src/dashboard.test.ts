import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import type { Page } from 'playwright-core';
import { attachDashboard, attachMetrics, Coordinator, type Dashboard, type DashboardSnapshot } from '@tfjs-ddp/coordinator';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { chromiumOnce, launchBrowser, type TestBrowser } from './harness/browser.js';
import { startCli, type RunningProcess } from './harness/processes.js';
import { SyntheticJob, type SyntheticFacts } from './harness/synthetic-job.js';

/**
 * The coordinator's dashboard and /metrics, seen as a person and a Prometheus server
 * would: a real Chromium opens the page (served from the coordinator alone), and the
 * metrics go through an independent text-format parser. Screenshots land in
 * test/test-output/ (git-ignored).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const OUTPUT = path.resolve(here, '..', 'test-output');
const MAX_POINTS = 1000;
const CHARTS = ['loss', 'accuracy', 'test-accuracy', 'throughput', 'rank-step', 'breakdown'];

// The browser starts when the first test that draws the page asks for it, not in a
// before() hook: a failing or slow launch must not hold up or cancel the tests that need
// no browser (/metrics, the snapshot).
let launched: Promise<TestBrowser> | undefined;
const running: RunningProcess[] = [];
before(() => mkdirSync(OUTPUT, { recursive: true }));
after(async () => {
  running.forEach((p) => p.kill());
  await (await launched?.catch(() => undefined))?.close();
});

/** The shared browser, or undefined after skipping `t` with the command that installs one (skipped, never passed). */
async function browserOrSkip(t: TestContext): Promise<TestBrowser | undefined> {
  const found = await chromiumOnce();
  if ('missing' in found) {
    t.skip(found.missing);
    return undefined;
  }
  launched ??= launchBrowser(found.path, found.source);
  return launched;
}

async function openPage(browser: TestBrowser, origin: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // The page must need nothing but the coordinator (machines may be offline).
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) problems.push(`request off the coordinator: ${url}`);
  });
  await page.goto(`${origin}/`);
  return { page, problems };
}

async function chartPoints(page: Page, chart: string): Promise<number> {
  return Number((await page.locator(`figure[data-chart="${chart}"]`).getAttribute('data-points')) ?? 0);
}

/** Polls the chart's plotted points until there are at least `atLeast` (page functions cannot be strings: the page's CSP forbids eval). */
async function waitForPoints(page: Page, chart: string, atLeast: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const points = await chartPoints(page, chart);
    if (points >= atLeast) return points;
    if (performance.now() > deadline) throw new Error(`chart ${chart} plots ${points} points, not ${atLeast}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function family(families: Map<string, PrometheusFamily>, name: string, type: PrometheusFamily['type']): PrometheusFamily {
  const found = families.get(name);
  assert.ok(found !== undefined, `/metrics has no ${name}`);
  assert.equal(found.type, type, `${name} is a ${found.type}`);
  return found;
}

function value(families: Map<string, PrometheusFamily>, name: string, type: PrometheusFamily['type'], labels: Record<string, string> = {}): number {
  const sample = family(families, name, type).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  assert.ok(sample?.value !== undefined, `${name}${JSON.stringify(labels)} has no sample`);
  return Number(sample.value);
}

async function scrape(origin: string): Promise<Map<string, PrometheusFamily>> {
  const response = await fetch(`${origin}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return new Map(parsePrometheusTextFormat(await response.text()).map((f) => [f.name, f]));
}

describe('a synthetic 100 000-step job', () => {
  const job = new SyntheticJob({ steps: 100_000, stepsPerEpoch: 500, workers: 4, threadsPerWorker: 2, parameters: 1_000_000, spikeStep: 61_235, spikeLoss: 9, straggler: 5 });
  let dashboard: Dashboard | undefined;
  let facts: SyntheticFacts;
  let origin = '';
  before(async () => {
    dashboard = attachDashboard(job, { maxPoints: MAX_POINTS });
    attachMetrics(job);
    origin = `http://127.0.0.1:${await job.listen()}`;
    facts = job.play();
  });
  after(async () => {
    dashboard?.close();
    await job.close();
  });

  test('the page gets at most 1000 points per series, and still the whole run, the loss spike and the straggler', async () => {
    const started = performance.now();
    const response = await fetch(`${origin}/dashboard/snapshot`);
    const body = await response.text();
    const elapsedMs = performance.now() - started;
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    const { steps, epochs } = JSON.parse(body) as DashboardSnapshot;
    assert.equal(steps.count, 100_000);
    assert.equal(epochs.count, 200);
    const series: Record<string, unknown[]> = { step: steps.step, loss: steps.loss, accuracy: steps.accuracy, throughput: steps.throughput, stepMs: steps.stepMs, allReduceMs: steps.allReduceMs, epoch: epochs.epoch, testAccuracy: epochs.testAccuracy };
    for (const rank of steps.ranks) series[rank.label] = rank.ms;
    for (const [name, values] of Object.entries(series)) assert.ok(values.length > 0 && values.length <= MAX_POINTS, `${name} has ${values.length} points`);
    assert.equal(steps.step[0], 1);
    assert.equal(steps.step.at(-1), 100_000);
    assert.equal(Math.max(...steps.loss.map((v) => v ?? -Infinity)), 9, 'the one-step loss spike survives downsampling');
    assert.equal(steps.ranks.length, 8);
    const means = steps.ranks.map((r) => r.ms.reduce<number>((a, b) => a + (b ?? 0), 0) / r.ms.length);
    assert.equal(means.indexOf(Math.max(...means)), 5, 'rank 5 is the slowest line');
    assert.ok(body.length < 300_000, `a snapshot of ${body.length} bytes`);
    assert.ok(elapsedMs < 2000, `the snapshot took ${elapsedMs.toFixed(0)} ms`);
  });

  test('the page draws it in a real browser: every chart bounded, the straggling worker marked', async (t) => {
    const browser = await browserOrSkip(t);
    if (browser === undefined) return;
    const { page, problems } = await openPage(browser, origin);
    await page.waitForSelector('body[data-updates]', { timeout: 15_000 });
    for (const chart of CHARTS) {
      const points = await chartPoints(page, chart);
      assert.ok(points > 0 && points <= MAX_POINTS, `${chart} plots ${points} points`);
    }
    assert.equal(await chartPoints(page, 'loss'), MAX_POINTS);
    assert.equal(await page.locator('tr[data-worker]').count(), 4);
    assert.deepEqual(await page.locator('tr.straggler').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-worker'))), ['w3']);
    // Each worker's peer links: bytes sent per step (the 1M-parameter gradient), the rate they achieved, the network's share.
    const network = await page.locator('tr[data-worker="w1"] td').evaluateAll((cells) => cells.slice(8).map((c) => c.textContent));
    assert.deepEqual(network, ['4.00 MB', '1.00 Gbit/s', '20.0 %']);
    assert.equal(await page.locator('[data-kpi="workers"] .value').textContent(), '4 / 4');
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-100k.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('/metrics parses as Prometheus text and holds what the records said', async () => {
    const families = await scrape(origin);
    assert.equal(value(families, 'tfjs_ddp_steps_total', 'COUNTER'), 100_000);
    assert.equal(value(families, 'tfjs_ddp_epochs_total', 'COUNTER'), facts.epochs);
    const histogram = family(families, 'tfjs_ddp_step_duration_seconds', 'HISTOGRAM').metrics[0];
    assert.equal(Number(histogram?.count), 100_000);
    assert.equal(Number(histogram?.buckets?.['+Inf']), 100_000);
    assert.equal(Number(histogram?.buckets?.['0.05']), 0, 'no step took under 50 ms');
    assert.equal(value(families, 'tfjs_ddp_allreduce_bytes', 'GAUGE'), 4_000_000);
    // The last step: the fastest all-reduce was rank 0's 20 ms; 8 ranks.
    const seconds = Math.min(...facts.lastReports.map((r) => r.allReduceMs)) / 1000;
    assert.equal(value(families, 'tfjs_ddp_allreduce_algbw_bytes_per_second', 'GAUGE'), 4_000_000 / seconds);
    assert.equal(value(families, 'tfjs_ddp_allreduce_busbw_bytes_per_second', 'GAUGE'), ((4_000_000 / seconds) * 2 * 7) / 8);
    assert.equal(Number(family(families, 'tfjs_ddp_allreduce_duration_seconds', 'HISTOGRAM').metrics[0]?.count), 100_000);
    assert.ok(Math.abs(value(families, 'tfjs_ddp_rank_syncbn_wait_seconds_total', 'COUNTER', { rank: '0' }) - facts.syncBnSecondsRank0) < 1e-6);
    assert.equal(family(families, 'tfjs_ddp_rank_step_seconds', 'GAUGE').metrics.length, 8);
    assert.ok(value(families, 'tfjs_ddp_rank_step_seconds', 'GAUGE', { rank: '5' }) > value(families, 'tfjs_ddp_rank_step_seconds', 'GAUGE', { rank: '4' }));
    assert.ok(value(families, 'tfjs_ddp_rank_shard_wait_seconds_total', 'COUNTER', { rank: '0' }) > 0);
    assert.equal(value(families, 'tfjs_ddp_test_accuracy', 'GAUGE'), facts.lastTestAccuracy);
    assert.equal(value(families, 'tfjs_ddp_workers_up', 'GAUGE'), 4);
    assert.equal(value(families, 'tfjs_ddp_rank_restarts_total', 'COUNTER'), 1);
    assert.equal(value(families, 'tfjs_ddp_job_state', 'GAUGE', { state: 'training' }), 1);
    assert.equal(value(families, 'tfjs_ddp_job_state', 'GAUGE', { state: 'failed' }), 0);
    assert.equal(value(families, 'tfjs_ddp_worker_info', 'GAUGE', { worker: 'w1', backend: 'tensorflow' }), 1);
    assert.ok(families.has('process_cpu_seconds_total'), "the coordinator process's own metrics are there too");
  });
});

test('a real job: the page updates live while two worker processes train, and /metrics follows', async (t) => {
  const browser = await browserOrSkip(t);
  if (browser === undefined) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'dashboard-'));
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, 'test-token\n');
  // 2048 synthetic samples in global batches of 256: 8 steps an epoch, 3 epochs, each step paused 150 ms.
  const config: JobConfig = { model: path.join(here, 'fixtures', 'slow-model.js'), dataset: 'synthetic', epochs: 3, globalBatch: 256, optimizer: { name: 'adam', learningRate: 0.01 }, seed: 3 };
  const coordinator = await Coordinator.start({ port: 0, host: '127.0.0.1', token: 'test-token', workers: 2, config, outDir: path.join(dir, 'out'), waitTimeoutMs: 60_000 });
  const dashboard = attachDashboard(coordinator, { intervalMs: 200 });
  attachMetrics(coordinator);
  const origin = `http://127.0.0.1:${coordinator.port}`;
  const run = coordinator.run();
  const { page, problems } = await openPage(browser, origin);
  try {
    await page.waitForSelector('#job-state[data-state="waiting"]', { timeout: 10_000 });
    assert.equal(await page.locator('tr[data-worker]').count(), 0);
    // The workers start only now, so the page sees them join.
    for (let i = 0; i < 2; i++) {
      running.push(startCli(['worker', '--coordinator', `ws://127.0.0.1:${coordinator.port}`, '--token-file', tokenFile, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm', '--model', config.model], { timeoutMs: 120_000 }));
    }
    await page.waitForSelector('tr[data-worker]', { timeout: 30_000 });
    const early = await waitForPoints(page, 'loss', 2, 60_000);
    assert.ok((await waitForPoints(page, 'loss', early + 3, 30_000)) > early, 'the loss chart grew while the job ran');
    assert.equal(await page.locator('#job-state').getAttribute('data-state'), 'training');
    assert.equal(await page.locator('tr[data-worker]').count(), 2);
    assert.deepEqual(await page.locator('tr[data-worker] td:nth-child(5)').allTextContents(), ['wasm', 'wasm']);

    const families = await scrape(origin);
    assert.ok(value(families, 'tfjs_ddp_steps_total', 'COUNTER') >= early);
    assert.equal(value(families, 'tfjs_ddp_workers_up', 'GAUGE'), 2);
    assert.equal(family(families, 'tfjs_ddp_rank_step_seconds', 'GAUGE').metrics.length, 2);
    const parameters = coordinator.status().job.parameters ?? 0;
    assert.ok(parameters > 0);
    assert.equal(value(families, 'tfjs_ddp_allreduce_bytes', 'GAUGE'), parameters * 4);
    assert.ok(value(families, 'tfjs_ddp_allreduce_busbw_bytes_per_second', 'GAUGE') > 0);

    // After two epochs the test-accuracy chart has two points; the step breakdown shows the paused compute.
    await waitForPoints(page, 'test-accuracy', 2, 60_000);
    assert.ok(Number(await page.locator('body').getAttribute('data-updates')) >= 3, 'the page saw several updates');
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } catch (error) {
    // End the job now and report what failed here, not the job's failure that closing causes.
    run.catch(() => undefined);
    await coordinator.close();
    throw error;
  } finally {
    dashboard.close();
    await page.close();
  }
  const result = await run;
  assert.equal(result.steps, 24);
  assert.deepEqual(await Promise.all(running.map((w) => w.exited)), [0, 0], running.map((w) => w.output()).join('\n---\n'));
});
