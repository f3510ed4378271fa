import { parentPort, workerData } from 'node:worker_threads';
import { openDataset, shareDataset } from '@tfjs-ddp/data';
import { WorkerError } from './errors.js';
import type { DatasetReply, DatasetRequest } from './load-dataset.js';

/**
 * Entry of the data set thread (see loadSharedDataset): opens, fingerprints and shares
 * one data set, answers once and exits. Its heap, with the parsed files, goes with it.
 */
const port = parentPort;
if (port === null) throw new WorkerError('WORKER_ERR_BAD_OPTION', 'dataset-thread.js must run in a worker thread');

const request = workerData as DatasetRequest;
let reply: DatasetReply;
try {
  const data = openDataset(request.spec, request.seed);
  reply = { kind: 'loaded', fingerprint: data.train.fingerprint(), train: shareDataset(data.train), test: shareDataset(data.test) };
} catch (error) {
  const code = (error as { code?: unknown }).code;
  reply = { kind: 'failed', message: error instanceof Error ? error.message : String(error), ...(typeof code === 'string' ? { code } : {}) };
}
port.postMessage(reply);
