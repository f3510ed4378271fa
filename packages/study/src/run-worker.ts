import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '@tfjs-ddp/backend';
import { StudyError } from './errors.js';
import { openSharedStudyData } from './study-data.js';
import { trainRun } from './training-run.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-messages.js';

// A study worker thread: its own wasm backend, the shared data, one run at a time.
const port = parentPort;
if (port === null) throw new StudyError('STUDY_ERR_NOT_A_THREAD', 'run-worker.js must run in a worker thread (the study starts it as one)');
const { shared, settings } = workerData as WorkerInit;
await initBackend('wasm');
const data = openSharedStudyData(shared);
const post = (message: FromWorker): void => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'stop') {
    port.close();
    return;
  }
  trainRun(message.request, data, settings).then(
    (result) => post({ type: 'result', result }),
    (error: unknown) => {
      const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      post({ type: 'failed', key: message.request.key, message: text, ...(code === undefined ? {} : { code }) });
    },
  );
});
post({ type: 'ready' });
