import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createTestNetwork, type VirtualHost } from './harness/netns.js';
import { CLI, exitsWithin, startCli, type RunningProcess } from './harness/processes.js';

/**
 * Issue 21, parts 1 and 2: a slow link is not a dead worker. Two hosts (network namespaces);
 * the coordinator and worker 1 on one, worker 2 on the other behind a 10 Mbit/s link (tbf,
 * both ways). The coordinator streams every sample (--data-source coordinator), so the test
 * set and the shards share the WebSocket with the heartbeat. Five jobs in a row must start,
 * train and finish with no heartbeat loss reported. (That a worker really cut off is still
 * found within its deadline is multihost.test's netcut test.)
 */
const JOBS = 5;
const RATE = '10mbit';
const network = createTestNetwork(2);
const running: RunningProcess[] = [];
after(() => {
  running.forEach((p) => p.kill());
  network.destroy();
});

test(`${JOBS} jobs in a row over a ${RATE} link with the coordinator streaming the data: each starts, trains and finishes, no heartbeat lost`, { timeout: 600_000 }, async () => {
  const [near, far] = network.hosts;
  assert.ok(near !== undefined && far !== undefined);
  network.shape(far, RATE);
  const dir = mkdtempSync(path.join(tmpdir(), 'slow-link-'));
  const token = path.join(dir, 'token');
  writeFileSync(token, 'slow-link-token\n');
  for (let job = 0; job < JOBS; job++) {
    const port = 7200 + job;
    const startedAt = Date.now();
    const coordinator = startCli(
      ['coordinator', '--host', near.address, '--port', String(port), '--workers', '2', '--token-file', token, '--model', 'cnn-bn', '--dataset', 'mnist',
        '--global-batch', '64', '--max-steps', '12', '--seed', String(20 + job), '--data-source', 'coordinator', '--bn-recalibrate', 'off', '--out', path.join(dir, `run-${job}`),
        '--wait-timeout', '120', '--no-progress', '--log-level', 'info'],
      { command: [...network.exec(near), process.execPath, CLI], timeoutMs: 240_000 },
    );
    running.push(coordinator);
    const worker = (host: VirtualHost): RunningProcess => {
      const w = startCli(['worker', '--coordinator', `ws://${near.address}:${port}`, '--token-file', token, '--threads', '1', '--advertise-host', host.address, '--backend', 'wasm',
        '--log-level', 'info'], { command: [...network.exec(host), process.execPath, CLI], timeoutMs: 240_000 });
      running.push(w);
      return w;
    };
    // The far worker joins first, so it is rank 0 and the 31 MB test set crosses the slow link too.
    const workers: RunningProcess[] = [worker(far)];
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    workers.push(worker(near));
    const outputs = (): string => `coordinator:\n${coordinator.output().slice(-5000)}\nworkers:\n${workers.map((w) => w.output().slice(-2500)).join('\n---\n')}`;
    assert.equal(await coordinator.exited, 0, `job ${job} failed:\n${outputs()}`);
    for (const [i, w] of workers.entries()) assert.equal(await exitsWithin(w, `job ${job}'s worker ${i + 1}`, coordinator.exitedAt() ?? Date.now(), 10_000), 0, outputs());
    assert.doesNotMatch(coordinator.output(), /no heartbeat/, `job ${job} reported a heartbeat loss:\n${outputs()}`);
    const rate = /samplesPerSec":([\d.]+)/.exec(coordinator.output().split('\n').filter((l) => l.includes('done in')).join('')) ?? [];
    const rank0 = /"host":"([\d.]+)","processRank":0/.exec(coordinator.output())?.[1];
    console.log(JSON.stringify({ slowLink: { job, rate: RATE, rank0OnFarHost: rank0 === far.address, seconds: (Date.now() - startedAt) / 1000, samplesPerSec: Number(rate[1] ?? NaN) } }));
  }
});
