import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { JobConfig } from '@tfjs-ddp/protocol';
import { createTestNetwork } from './harness/netns.js';
import { CLI, savedWeights, startCli, type RunningProcess } from './harness/processes.js';
import { maxRelativeDifference, referenceRun } from './harness/reference.js';

/**
 * Several hosts: a coordinator and two workers, each in its own network namespace with
 * its own address on a virtual bridge, run a short job across the "network" exactly as
 * on separate machines (workers advertise their own addresses to their ring peers).
 */
const network = createTestNetwork(3);
const running: RunningProcess[] = [];
after(() => {
  running.forEach((p) => p.kill());
  network.destroy();
});

test('a job across three hosts (network namespaces): coordinator streams the data, two workers x two threads', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'multihost-'));
  const token = path.join(dir, 'token');
  writeFileSync(token, 'hosts-token\n');
  const [coordinatorHost, ...workerHosts] = network.hosts;
  assert.ok(coordinatorHost !== undefined && workerHosts.length === 2);
  const config: JobConfig = { model: 'cnn-bn', dataset: 'synthetic', epochs: 1, globalBatch: 16, optimizer: { name: 'adam', learningRate: 0.003 }, seed: 11, maxSteps: 4 };
  const out = path.join(dir, 'run');
  const coordinator = startCli(
    ['coordinator', '--host', coordinatorHost.address, '--port', '7070', '--workers', '2', '--token-file', token, '--model', config.model, '--dataset', config.dataset,
      '--global-batch', String(config.globalBatch), '--optimizer', 'adam', '--lr', '0.003', '--seed', String(config.seed), '--max-steps', String(config.maxSteps),
      '--data-source', 'coordinator', '--check-replicas', '1', '--out', out, '--wait-timeout', '60'],
    { command: [...network.exec(coordinatorHost), process.execPath, CLI] },
  );
  running.push(coordinator);
  const workers = workerHosts.map((host) => {
    const w = startCli(['worker', '--coordinator', `ws://${coordinatorHost.address}:7070`, '--token-file', token, '--threads', '2', '--advertise-host', host.address, '--backend', 'wasm'], { command: [...network.exec(host), process.execPath, CLI] });
    running.push(w);
    return w;
  });
  const code = await coordinator.exited;
  assert.equal(code, 0, `coordinator:\n${coordinator.output()}\nworkers:\n${workers.map((w) => w.output()).join('\n---\n')}`);
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
  // Ring peers were the workers' own addresses, not loopback.
  for (const host of workerHosts) assert.match(coordinator.output(), new RegExp(`"host":"${host.address.replace(/\./g, '\\.')}"`));
  const reference = await referenceRun(config);
  const diff = maxRelativeDifference(savedWeights(out), reference.weights);
  assert.ok(diff <= 1e-4, `weights differ from the one-replica reference by ${diff}`);
});
