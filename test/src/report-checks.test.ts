import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Coordinator, type MembershipEvent } from '@tfjs-ddp/coordinator';
import type { JobConfig, Message, StepDoneMessage } from '@tfjs-ddp/protocol';
import { startCli, type RunningProcess } from './harness/processes.js';
import { assembleFrame, packr } from './harness/protocol-samples.js';
import { startTamperingProxy } from './harness/tampering-proxy.js';

/**
 * Issue 13 item 5: the coordinator takes step reports only from distinct ranks of the
 * current ring, for steps in flight, with finite timings that fit. A hostile admitted
 * worker (a real worker behind a proxy that rewrites its step reports) breaks one rule
 * each time: it is dropped with the code and the job goes on with the other (a real
 * worker; --min-workers 1), to the end, every sample trained exactly once.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'report-checks-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'report-checks-token\n');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));
const config: JobConfig = { model: 'mlp', dataset: 'synthetic', epochs: 1, globalBatch: 8, optimizer: { name: 'sgd', learningRate: 0.1 }, seed: 8 };
config.maxSteps = 5;
const WORKER_ARGS = ['--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm'];

type Report = StepDoneMessage['reports'][number];

/** A stepDone frame with any field, valid or not (msgpack of the header, no payload). */
function stepDoneFrame(message: StepDoneMessage, change: { generation?: number; step?: number; report?: Partial<Record<keyof Report, number>> } = {}): Buffer {
  const reports = message.reports.map((r) => ({ ...r, ...change.report }));
  const header = { ...message, generation: change.generation ?? message.generation, step: change.step ?? message.step, reports };
  return assembleFrame(packr.pack(header), new Uint8Array(0));
}

interface Case {
  readonly name: string;
  readonly code: string;
  readonly reason: RegExp;
  /** The frames sent instead of the worker's report of `done.step` (called for steps >= 3). */
  readonly tamper: (done: StepDoneMessage, frame: Buffer, first: Buffer) => Buffer[];
}

const cases: Case[] = [
  { name: 'the same report twice', code: 'COORD_ERR_BAD_REPORT', reason: /rank \d reported step 4 twice/, tamper: (_, frame) => [frame, frame] },
  {
    name: 'a report of an old, committed step',
    code: 'COORD_ERR_BAD_REPORT',
    reason: /step 1, which is not in flight/,
    tamper: (_, frame, first) => [frame, first],
  },
  {
    name: 'a report of another ring generation',
    code: 'COORD_ERR_BAD_REPORT',
    reason: /generation 7; the ring is generation 0/,
    tamper: (done) => [stepDoneFrame(done, { generation: 7 })],
  },
  {
    name: 'computeMs 5e-324',
    code: 'PROTOCOL_ERR_FIELD',
    reason: /computeMs must be 0 or at least/,
    tamper: (done) => [stepDoneFrame(done, { report: { computeMs: 5e-324 } })],
  },
  {
    name: 'computeMs NaN',
    code: 'PROTOCOL_ERR_FIELD',
    reason: /computeMs must be a finite number/,
    tamper: (done) => [stepDoneFrame(done, { report: { computeMs: Number.NaN } })],
  },
  {
    name: 'computeMs 1e300',
    code: 'PROTOCOL_ERR_FIELD',
    reason: /computeMs must be a finite number/,
    tamper: (done) => [stepDoneFrame(done, { report: { computeMs: 1e300 } })],
  },
  {
    name: 'an hour of work on a step sent moments ago',
    code: 'COORD_ERR_BAD_REPORT',
    reason: /reports 3\.6\d+e\+6 ms of work on step 4/,
    tamper: (done) => [stepDoneFrame(done, { report: { computeMs: 3_600_000 } })],
  },
];

function startWorker(url: string): RunningProcess {
  const worker = startCli(['worker', '--coordinator', url, '--token-file', tokenFile, ...WORKER_ARGS], { timeoutMs: 170_000 });
  running.push(worker);
  return worker;
}

for (const c of cases) {
  test(`a worker that sends ${c.name} is dropped with ${c.code}; the job goes on without it to the end, every sample once`, { timeout: 180_000 }, async () => {
    const events: MembershipEvent[] = [];
    const outDir = path.join(dir, c.name.replace(/\W+/g, '-'));
    const coordinator = await Coordinator.start({
      port: 0, host: '127.0.0.1', token: 'report-checks-token', workers: 2, minWorkers: 1, config, outDir, waitTimeoutMs: 60_000,
      onMembership: (e) => events.push(e),
    });
    let first: Buffer | undefined;
    let tampered = false;
    const proxy = await startTamperingProxy(`ws://127.0.0.1:${coordinator.port}`, (message: Message, frame) => {
      if (message.t !== 'stepDone') return [frame];
      first ??= frame;
      if (tampered || message.step < 3) return [frame];
      tampered = true;
      return c.tamper(message, frame, first);
    });
    const good = startWorker(`ws://127.0.0.1:${coordinator.port}`);
    const hostile = startWorker(proxy.url);
    let result;
    try {
      result = await coordinator.run();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- good ---\n${good.output().slice(-3000)}\n--- hostile ---\n${hostile.output().slice(-3000)}`);
    } finally {
      await proxy.close();
    }
    assert.ok(tampered, 'the proxy never saw a report of step 4');
    const fail = proxy.toWorker.find((m) => m.t === 'fail');
    assert.equal(fail?.t === 'fail' ? fail.code : 'no fail message', c.code, JSON.stringify(fail));
    assert.match(fail?.t === 'fail' ? fail.reason : '', c.reason);
    const lost = events.find((e) => e.kind === 'lost');
    assert.match(lost?.reason ?? JSON.stringify(events), new RegExp(`sent an invalid message \\(${c.code}: `));
    assert.equal(await hostile.exited, 1, hostile.output().slice(-2000));
    assert.equal(await good.exited, 0, good.output().slice(-2000));
    assert.equal(result.steps, config.maxSteps);
    assert.equal(result.generations, 1);
    for (const account of result.ledger) assert.deepEqual([account.missing, account.repeated], [0, 0], JSON.stringify(account));
    assert.equal(result.ledger.reduce((n, a) => n + a.once, 0), (config.maxSteps ?? 0) * config.globalBatch);
  });
}
