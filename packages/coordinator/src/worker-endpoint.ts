import type { Dataset } from '@tfjs-ddp/data';
import { encodeStepPayload, joinShards, sampleSizeOf } from '@tfjs-ddp/protocol';
import { CoordinatorError } from './errors.js';
import type { JobEndpoint } from '@tfjs-ddp/job';
import type { WorkerSession } from './worker-session.js';

export interface WorkerEndpointOptions {
  /** The ring the orders belong to; the worker drops orders of another. */
  generation: number;
  /** The training set when the coordinator streams the samples; undefined when workers read their own copy. */
  streamFrom: Dataset | undefined;
  /** Whether the state after `step` is checkpointed. */
  checkpointAfter: (step: number) => boolean;
}

/** The job driver's view of a worker process: its ranks' orders go over its WebSocket. */
export function workerEndpoint(session: WorkerSession, options: WorkerEndpointOptions): JobEndpoint {
  const assigned = session.assigned;
  if (assigned === undefined) throw new CoordinatorError('COORD_ERR_BAD_OPTION', `${session.id} has no ranks`);
  const { generation, streamFrom } = options;
  const sampleSize = streamFrom === undefined ? 0 : sampleSizeOf(streamFrom.inputShape);
  return {
    rankOffset: assigned.rankOffset,
    ranks: assigned.threads,
    sendStep: ({ step, epoch, globalCount, shards }) => {
      const { counts, indices } = joinShards(shards);
      const payload = encodeStepPayload(indices, sampleSize, streamFrom?.batch(indices));
      session.socket.send({ t: 'step', generation, step, epoch, globalCount, counts, sampleSize }, ...payload);
      // Right behind the step's order: every rank takes the checkpoint after that step, before any prefetched one.
      if (options.checkpointAfter(step)) session.socket.send({ t: 'checkpointRequest', generation, step });
    },
    sendEvaluate: (epoch) => session.socket.send({ t: 'evaluate', generation, epoch }),
    sendFinish: () => session.socket.send({ t: 'finish' }),
  };
}
