import type { Server } from 'node:http';
import { createHttpServer, type JobStatus, type MetricsRecord, type RouteHandler, type TelemetrySource } from '@tfjs-ddp/coordinator';
import type { RankStepReport } from '@tfjs-ddp/protocol';

export interface SyntheticJobOptions {
  steps: number;
  stepsPerEpoch: number;
  workers: number;
  threadsPerWorker: number;
  parameters: number;
  /** The step (1-based) whose loss jumps to `spikeLoss`. */
  spikeStep: number;
  spikeLoss: number;
  /** This rank is 40 % slower than the others. */
  straggler: number;
}

/** What the test knows about the records it made, to check what the server reports. */
export interface SyntheticFacts {
  lastReports: RankStepReport[];
  syncBnSecondsRank0: number;
  lastTestAccuracy: number;
  epochs: number;
}

/**
 * A stand-in for a coordinator that has run a long job: the real HTTP server and route
 * table, a fixed status, and records made here (a loss that decays with one spike, one
 * straggling rank), played to the listeners on `play()`.
 */
export class SyntheticJob implements TelemetrySource {
  readonly server: Server;
  private readonly routes = new Map<string, RouteHandler>();
  private readonly listeners = new Set<(record: MetricsRecord) => void>();
  private current: JobStatus;

  constructor(private readonly options: SyntheticJobOptions) {
    this.server = createHttpServer({ status: () => this.current, extra: this.routes });
    const ranks = options.workers * options.threadsPerWorker;
    this.current = {
      job: { id: 'synthetic-100k', model: 'resnet20', dataset: 'synthetic', bnMode: 'sync', globalBatch: 256, epochs: Math.ceil(options.steps / options.stepsPerEpoch), dataSource: 'local', balance: 'even', compress: 'none', state: 'training', startedAt: new Date(0).toISOString(), parameters: options.parameters, rankRestarts: 1, generation: 1 },
      step: options.steps,
      totalSteps: options.steps * 2,
      epoch: Math.floor(options.steps / options.stepsPerEpoch),
      loss: null,
      accuracy: null,
      testAccuracy: null,
      samplesPerSec: 0,
      etaSec: 3600,
      expectedWorkers: options.workers,
      workers: Array.from({ length: options.workers }, (_, w) => ({
        id: `w${w + 1}`,
        host: `node-${w + 1}.example`,
        processRank: w,
        ranks: Array.from({ length: options.threadsPerWorker }, (_, t) => w * options.threadsPerWorker + t),
        threads: options.threadsPerWorker,
        backend: w === 0 ? 'tensorflow' : 'wasm',
        device: w === 0 ? 'GPU (CUDA_VISIBLE_DEVICES=0)' : 'CPU (wasm)',
        lastStepMs: Math.floor(options.straggler / options.threadsPerWorker) === w ? 140 : 100,
        // The gradient's ring share each step, at about 1 Gbit/s.
        network: {
          sentBytesPerStep: options.parameters * 4, receivedBytesPerStep: options.parameters * 4, payloadBytesPerStep: options.parameters * 4,
          netMsPerStep: 20, linkBitsPerSec: 1e9, networkFraction: 0.2, windowSteps: 20, sentBytesTotal: 0, receivedBytesTotal: 0,
        },
        state: 'training' as const,
      })),
    };
    if (ranks <= options.straggler) throw new RangeError('the straggler must be one of the ranks');
  }

  status(): JobStatus {
    return this.current;
  }

  addRoute(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  onRecord(listener: (record: MetricsRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Sends every step's and epoch's record to the listeners, as a coordinator would during the run. */
  play(): SyntheticFacts {
    const o = this.options;
    const ranks = o.workers * o.threadsPerWorker;
    const start = Date.UTC(2026, 0, 1);
    const facts: SyntheticFacts = { lastReports: [], syncBnSecondsRank0: 0, lastTestAccuracy: 0, epochs: 0 };
    let samples = 0;
    for (let step = 1; step <= o.steps; step++) {
      const reports = Array.from({ length: ranks }, (_, rank): RankStepReport => {
        const slow = rank === o.straggler ? 1.4 : 1;
        const wiggle = 1 + 0.1 * Math.sin(step / 97 + rank);
        return { rank, lossSum: 0, correct: 0, count: 32, computeMs: 70 * slow * wiggle, syncBnMs: 6 + (rank % 3), allReduceMs: 20 + rank, applyMs: 3, waitMs: rank === 0 ? 0.5 : 0.1 };
      });
      samples += 32 * ranks;
      facts.syncBnSecondsRank0 += (reports[0] as RankStepReport).syncBnMs / 1000;
      const loss = step === o.spikeStep ? o.spikeLoss : 2.3 * Math.exp(-step / 25_000) + 0.05 + 0.03 * Math.sin(step / 13);
      const stepMs = Math.max(...reports.map((r) => r.computeMs + r.syncBnMs + r.allReduceMs + r.applyMs));
      this.emit({ kind: 'step', time: new Date(start + step * 120).toISOString(), step, epoch: Math.floor((step - 1) / o.stepsPerEpoch), loss, accuracy: Math.min(0.99, 1 - loss / 2.5), samples, samplesPerSec: (32 * ranks * 1000) / 120, stepMs, ranks: reports });
      facts.lastReports = reports;
      this.current = { ...this.current, loss, accuracy: Math.min(0.99, 1 - loss / 2.5), samplesPerSec: (32 * ranks * 1000) / 120 };
      if (step % o.stepsPerEpoch === 0) {
        facts.lastTestAccuracy = Math.min(0.98, 0.5 + step / (2 * o.steps));
        facts.epochs++;
        this.current = { ...this.current, testAccuracy: facts.lastTestAccuracy };
        this.emit({ kind: 'epoch', time: new Date(start + step * 120).toISOString(), epoch: step / o.stepsPerEpoch - 1, testAccuracy: facts.lastTestAccuracy, testLoss: 1 - facts.lastTestAccuracy });
      }
    }
    return facts;
  }

  private emit(record: MetricsRecord): void {
    for (const listener of this.listeners) listener(record);
  }
}

