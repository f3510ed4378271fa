import { isWorkerThread, workerData } from 'piscina';
import { initBackend } from '@tfjs-ddp/backend';
import { StudyError } from './errors.js';
import type { RunRequest } from './run-config.js';
import { openSharedStudyData } from './study-data.js';
import { trainThreadedRun } from './threaded-run.js';
import { trainRun } from './training-run.js';
import type { RunTaskOutcome, WorkerInit } from './worker-messages.js';

// A study worker thread under piscina: its own wasm backend and a view of the shared data,
// set up once when piscina loads this module, then one run per task.
if (!isWorkerThread) throw new StudyError('STUDY_ERR_NOT_A_THREAD', 'run-worker.js must run in a worker thread (the study pool starts it as one)');
const { shared, settings } = workerData as WorkerInit;
await initBackend('wasm');
const data = openSharedStudyData(shared);

export default async function runTask(request: RunRequest): Promise<RunTaskOutcome> {
  try {
    const train = request.config.ranks === undefined ? trainRun : trainThreadedRun;
    return { type: 'result', result: await train(request, data, settings) };
  } catch (error) {
    const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { type: 'failed', key: request.key, message, ...(code === undefined ? {} : { code }) };
  }
}
