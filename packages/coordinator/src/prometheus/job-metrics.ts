import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { stepWallMs, type MetricsRecord } from '../metrics-log.js';
import type { JobState, JobStatus } from '../status.js';
import { allReduceRates, allReduceSeconds, gradientBytes } from './bus-bandwidth.js';
import { workerNetworkMetrics } from './network-metrics.js';

const JOB_STATES: readonly JobState[] = ['waiting', 'starting', 'training', 'finished', 'failed'];
/** From a 5 ms step (a small model on a GPU) to two minutes (a large one on a CPU). */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** From a few KB over shared memory to hundreds of MB over a slow network. */
const ALL_REDUCE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface JobMetricsOptions {
  /** Also the coordinator process's own CPU, memory and event-loop metrics (prom-client's defaults). Default true. */
  processMetrics?: boolean;
}

/**
 * The job's Prometheus metrics, in a registry of its own (never prom-client's global
 * one, so two coordinators in one process, as in the tests, do not mix). Step and epoch
 * records feed the counters, histograms and last-step gauges as they arrive; what the
 * status holds (workers, restarts, state) is read at scrape time. Times are in seconds
 * and sizes in bytes, as Prometheus names them.
 */
export class JobMetrics {
  readonly registry = new Registry();
  private readonly steps: Counter;
  private readonly samples: Counter;
  private readonly epochs: Counter;
  private readonly stepDuration: Histogram;
  private readonly samplesPerSecond: Gauge;
  private readonly loss: Gauge;
  private readonly accuracy: Gauge;
  private readonly testAccuracy: Gauge;
  private readonly testLoss: Gauge;
  private readonly allReduceBytesTotal: Counter;
  private readonly allReduceDuration: Histogram;
  private readonly algbw: Gauge;
  private readonly busbw: Gauge;
  private readonly rankStep: Gauge<'rank'>;
  private readonly rankCompute: Counter<'rank'>;
  private readonly rankAllReduce: Counter<'rank'>;
  private readonly rankSyncBn: Counter<'rank'>;
  private readonly rankShardWait: Counter<'rank'>;

  constructor(
    private readonly status: () => JobStatus,
    options: JobMetricsOptions = {},
  ) {
    const registers = [this.registry];
    const name = (n: string): string => `tfjs_ddp_${n}`;
    this.steps = new Counter({ name: name('steps_total'), help: 'Training steps completed (global batches)', registers });
    this.samples = new Counter({ name: name('samples_total'), help: 'Training samples consumed', registers });
    this.epochs = new Counter({ name: name('epochs_total'), help: 'Epochs completed (evaluated on the test set)', registers });
    this.stepDuration = new Histogram({
      name: name('step_duration_seconds'),
      help: "Wall time of a step: its slowest rank's compute, SyncBN, all-reduce and update",
      buckets: STEP_BUCKETS,
      registers,
    });
    this.samplesPerSecond = new Gauge({ name: name('samples_per_second'), help: 'Training samples per second over the run so far', registers });
    this.loss = new Gauge({ name: name('loss'), help: "Mean training loss of the last step's global batch", registers });
    this.accuracy = new Gauge({ name: name('accuracy'), help: "Training accuracy of the last step's global batch (0..1)", registers });
    this.testAccuracy = new Gauge({ name: name('test_accuracy'), help: 'Test-set accuracy after the last completed epoch (0..1)', registers });
    this.testLoss = new Gauge({ name: name('test_loss'), help: 'Test-set loss after the last completed epoch', registers });
    this.allReduceBytesTotal = new Counter({ name: name('allreduce_bytes_total'), help: 'Gradient bytes all-reduced, summed over steps', registers });
    this.allReduceDuration = new Histogram({
      name: name('allreduce_duration_seconds'),
      help: 'Gradient all-reduce time of a step: the least over ranks (the last rank to arrive waits for no one)',
      buckets: ALL_REDUCE_BUCKETS,
      registers,
    });
    this.algbw = new Gauge({
      name: name('allreduce_algbw_bytes_per_second'),
      help: "Last step's all-reduce algorithm bandwidth: bytes / time (nccl-tests)",
      registers,
    });
    this.busbw = new Gauge({
      name: name('allreduce_busbw_bytes_per_second'),
      help: "Last step's all-reduce bus bandwidth: algbw * 2(P-1)/P over P ranks (nccl-tests)",
      registers,
    });
    this.rankStep = new Gauge({
      name: name('rank_step_seconds'),
      help: "Each rank's wall time in the last step (a straggler's is the largest)",
      labelNames: ['rank'],
      registers,
    });
    this.rankCompute = new Counter({
      name: name('rank_compute_seconds_total'),
      help: 'Forward and backward time of each rank',
      labelNames: ['rank'],
      registers,
    });
    this.rankAllReduce = new Counter({
      name: name('rank_allreduce_seconds_total'),
      help: 'Time each rank spent in gradient all-reduces, waiting for peers included',
      labelNames: ['rank'],
      registers,
    });
    this.rankSyncBn = new Counter({
      name: name('rank_syncbn_wait_seconds_total'),
      help: 'Time each rank spent in SyncBN statistics exchanges, waiting for peers included',
      labelNames: ['rank'],
      registers,
    });
    this.rankShardWait = new Counter({
      name: name('rank_shard_wait_seconds_total'),
      help: 'Time each rank waited for its next shard (from the coordinator)',
      labelNames: ['rank'],
      registers,
    });
    // Unknown until the first step or epoch: NaN says so, where prom-client's default 0 would read as a real loss of 0.
    for (const gauge of [this.samplesPerSecond, this.loss, this.accuracy, this.testAccuracy, this.testLoss, this.algbw, this.busbw]) gauge.set(NaN);
    this.statusMetrics(name, registers);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The registry in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  observe(record: MetricsRecord): void {
    if (record.kind === 'epoch') {
      this.epochs.inc();
      this.testAccuracy.set(record.testAccuracy);
      this.testLoss.set(record.testLoss);
      return;
    }
    this.steps.inc();
    this.samples.inc(record.ranks.reduce((n, r) => n + r.count, 0));
    this.stepDuration.observe(record.stepMs / 1000);
    this.samplesPerSecond.set(record.samplesPerSec);
    this.loss.set(record.loss);
    this.accuracy.set(record.accuracy);
    for (const r of record.ranks) {
      const rank = String(r.rank);
      this.rankStep.set({ rank }, stepWallMs(r) / 1000);
      this.rankCompute.inc({ rank }, r.computeMs / 1000);
      this.rankAllReduce.inc({ rank }, r.allReduceMs / 1000);
      this.rankSyncBn.inc({ rank }, r.syncBnMs / 1000);
      this.rankShardWait.inc({ rank }, r.waitMs / 1000);
    }
    const parameters = this.status().job.parameters;
    if (parameters === null || record.ranks.length < 2) return; // one rank all-reduces nothing
    const bytes = gradientBytes(parameters);
    const seconds = allReduceSeconds(record.ranks);
    this.allReduceBytesTotal.inc(bytes);
    this.allReduceDuration.observe(seconds);
    const rates = allReduceRates(bytes, seconds, record.ranks.length);
    if (rates !== undefined) {
      this.algbw.set(rates.algbw);
      this.busbw.set(rates.busbw);
    }
  }

  /** Metrics read from the coordinator's status at every scrape. */
  private statusMetrics(name: (n: string) => string, registers: Registry[]): void {
    const status = this.status;
    new Gauge({
      name: name('workers_up'),
      help: 'Worker processes connected (joined and not lost)',
      registers,
      collect() {
        this.set(status().workers.filter((w) => w.state !== 'lost').length);
      },
    });
    new Gauge({
      name: name('workers_expected'),
      help: 'Worker processes the job waits for',
      registers,
      collect() {
        this.set(status().expectedWorkers);
      },
    });
    let restartsSeen = 0;
    new Counter({
      name: name('rank_restarts_total'),
      help: 'Workers that joined again after being lost',
      registers,
      collect() {
        const now = status().job.rankRestarts;
        if (now > restartsSeen) this.inc(now - restartsSeen);
        restartsSeen = Math.max(restartsSeen, now);
      },
    });
    let checkpointFailuresSeen = 0;
    new Counter({
      name: name('checkpoint_failures_total'),
      help: 'Checkpoint writes that failed (disk full, I/O error); the job went on, nothing half-written was left',
      registers,
      collect() {
        const now = status().disk?.checkpointFailures ?? 0;
        if (now > checkpointFailuresSeen) this.inc(now - checkpointFailuresSeen);
        checkpointFailuresSeen = Math.max(checkpointFailuresSeen, now);
      },
    });
    new Gauge({
      name: name('checkpoint_last_step'),
      help: 'Steps committed by the newest checkpoint written (0: none): what --resume continues from',
      registers,
      collect() {
        this.set(status().disk?.lastCheckpointStep ?? 0);
      },
    });
    new Gauge({
      name: name('metrics_log_lost'),
      help: '1 when metrics.jsonl could not be written (training goes on; its later records are not saved), else 0',
      registers,
      collect() {
        this.set((status().disk?.metricsLost ?? null) === null ? 0 : 1);
      },
    });
    new Gauge({
      name: name('allreduce_bytes'),
      help: 'Bytes of the gradient every step all-reduces (float32 per trainable parameter)',
      registers,
      collect() {
        const parameters = status().job.parameters;
        if (parameters !== null) this.set(gradientBytes(parameters));
      },
    });
    workerNetworkMetrics(name, registers, status);
    new Gauge({
      name: name('steps_planned'),
      help: 'Steps the job runs in all',
      registers,
      collect() {
        this.set(status().totalSteps);
      },
    });
    new Gauge({
      name: name('job_state'),
      help: 'The job state: 1 for the current one',
      labelNames: ['state'],
      registers,
      collect() {
        const current = status().job.state;
        for (const state of JOB_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    new Gauge({
      name: name('job_info'),
      help: 'The job (always 1), its identity in labels',
      labelNames: ['job_id', 'model', 'dataset', 'bn_mode'],
      registers,
      collect() {
        const { job } = status();
        this.reset();
        this.set({ job_id: job.id, model: job.model, dataset: job.dataset, bn_mode: job.bnMode }, 1);
      },
    });
    new Gauge({
      name: name('worker_info'),
      help: 'Each worker (always 1): host, backend and state in labels',
      labelNames: ['worker', 'host', 'backend', 'state'],
      registers,
      collect() {
        this.reset();
        for (const w of status().workers) this.set({ worker: w.id, host: w.host, backend: w.backend ?? 'none', state: w.state }, 1);
      },
    });
  }
}
