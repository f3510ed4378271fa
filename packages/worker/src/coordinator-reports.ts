import { encodeCheckpointPayload, encodeModelPayload, type Outgoing, type StepNetworkReport } from '@tfjs-ddp/protocol';
import type { WorkerError } from './errors.js';
import type { LocalRanksHandlers } from './local-ranks.js';

/** What the reports need of the coordinator session. */
export interface ReportLink {
  send(message: Outgoing, ...payload: Uint8Array[]): void;
  /** The ring generation now (reports carry it; LocalRanks passes on those of the current one only). */
  generation(): number;
  /** A rank's failure ends this worker's part in the job. */
  failJob(error: WorkerError): void;
  /** Tells the coordinator of a failure the ring recovers from (it re-forms the ring). */
  reportFailure(error: WorkerError): void;
  /** Every rank finished; the model (if rank 0 is here) has been sent. */
  finished(): void;
  /** The peer links' traffic since the last step report (undefined: no peer links). */
  stepTraffic?(): StepNetworkReport | undefined;
}

/** The messages a worker sends the coordinator as its ranks report: readiness, steps, evaluations, checkpoints, the model. */
export function reportsToCoordinator(link: ReportLink): LocalRanksHandlers {
  return {
    onReady: (ready) => {
      const first = ready[0];
      const backend = first?.backend.name ?? 'unknown';
      // The threads of one process share its device; a rank process (--procs) has one thread.
      const device = first?.backend.device ?? 'unknown';
      link.send({ t: 'workerReady', backend, backendReason: first?.backend.reason ?? '', device, parameters: first?.parameters ?? 0 });
    },
    onStep: (step, reports) => {
      const net = link.stepTraffic?.();
      link.send({ t: 'stepDone', generation: link.generation(), step, reports, ...(net === undefined ? {} : { net }) });
    },
    onEvaluated: (epoch, evaluation) =>
      link.send({ t: 'evaluated', epoch, accuracy: evaluation?.accuracy ?? -1, loss: evaluation?.loss ?? -1, count: evaluation?.count ?? 0 }),
    onRegrouped: () => link.send({ t: 'workerReady', backend: 'regrouped', backendReason: `generation ${link.generation()}`, parameters: 0 }),
    onCheckpoint: (step, { model, state }) => {
      const { jsonBytes, weightsBytes, parts } = encodeCheckpointPayload({ modelJson: model.modelJson, weights: model.weights, state });
      link.send({ t: 'checkpointData', step, jsonBytes, weightsBytes }, ...parts);
    },
    onFinished: (all) => {
      const rank0 = all.find((f) => f.rank === 0);
      if (rank0?.model !== undefined) {
        const { jsonBytes, parts } = encodeModelPayload(rank0.model);
        link.send({ t: 'model', jsonBytes, accuracy: rank0.evaluation?.accuracy ?? 0, loss: rank0.evaluation?.loss ?? 0 }, ...parts);
      }
      link.send({ t: 'finished' });
      link.finished();
    },
    // A collective failure is the ring's: the coordinator re-forms it. Anything else ends this worker's part.
    onFailed: (error, fatal) => (fatal ? link.failJob(error) : link.reportFailure(error)),
  };
}
