import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelDefinitionHash } from '@tfjs-ddp/job';
import type { AssignMessage, JobConfig } from '@tfjs-ddp/protocol';
import { PROTOCOL_VERSION } from '@tfjs-ddp/protocol';
import { WorkerError } from './errors.js';
import { trustedJob } from './trusted-sources.js';

function assign(dataset: string): AssignMessage {
  const config: JobConfig = { model: 'mlp', dataset, epochs: 1, globalBatch: 8, optimizer: { name: 'sgd' }, seed: 1, maxSteps: 2 };
  return {
    v: PROTOCOL_VERSION, t: 'assign', jobId: 'job', generation: 0, joining: false, jobSecret: 'secret', config,
    bnMode: 'local', dataSource: 'local', datasetFingerprint: 'f', inputShape: [4], numClasses: 2,
    modelHash: modelDefinitionHash('mlp', config), checkReplicasEvery: 0, opTimeoutMs: 1000, compress: 'none',
    processRank: 0, processCount: 1, rankOffset: 0, threads: 1, worldSize: 1, peers: [],
  };
}

const untrusted = (e: unknown): boolean => e instanceof WorkerError && e.code === 'WORKER_ERR_UNTRUSTED_DATA';

test('csv: and images: specs are files of the user: a worker reads them only when given them itself, like npy:', () => {
  for (const spec of ['npy:/etc/x.npy,/etc/y.npy', 'csv:/etc/passwd', 'csv:/a.csv,/b.csv#column=label', 'images:/home', 'images:/a,/b']) {
    assert.throws(() => trustedJob(assign(spec), {}), untrusted, spec);
    // Given its own copy, the worker opens that, never the coordinator's path.
    assert.equal(trustedJob(assign(spec), { dataset: 'csv:./mine.csv' }).localDataset, 'csv:./mine.csv');
  }
  assert.equal(trustedJob(assign('synthetic'), {}).localDataset, 'synthetic');
});
