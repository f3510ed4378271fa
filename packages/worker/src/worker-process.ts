import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BackendRequest } from '@tfjs-ddp/backend';
import { SILENT_LOG, type StructuredLog } from '@tfjs-ddp/protocol';
import { CoordinatorSession } from './coordinator-session.js';
import { WorkerError } from './errors.js';
import { threadBackend } from './thread-backend.js';

export interface WorkerProcessOptions {
  /** Aborted (SIGTERM): tell the coordinator this worker leaves, then close the link; run() rejects with WORKER_ERR_LEFT. */
  leave?: AbortSignal;
  /** The coordinator's WebSocket URL, e.g. ws://10.0.0.5:7070. */
  coordinator: string;
  token: string;
  /** Join only this job; default any. */
  jobId?: string;
  /** Rank threads (replicas) in this process. */
  threads: number;
  backend: BackendRequest;
  /** tfjs-node-gpu that finds no GPU trains on the CPU instead of failing. Default false. */
  allowCpu?: boolean;
  /** Its index among the rank processes its launcher started (`--procs`): process i takes this host's i-th ranks. */
  launchIndex?: number;
  /** The host ring peers reach this worker at. Default: this machine's hostname (a pod's DNS name in Kubernetes). */
  advertiseHost?: string;
  /** Interface the peer listener binds. Default 0.0.0.0. */
  listenHost?: string;
  /** Port for ring peer links. Default 0 (any free port, advertised to the coordinator). */
  peerPort?: number;
  /** How long to keep trying to reach the coordinator (also after losing it). Default 120 s. */
  connectTimeoutMs?: number;
  /** How long to wait for the job's assignment after joining (the coordinator waits for the other workers). Default 1 h. */
  assignTimeoutMs?: number;
  /** Deadline for rank threads to load backend, data and model, and for peer links. Default 300 s. */
  startupTimeoutMs?: number;
  /** A coordinator silent (no heartbeat) for this long is gone. Default 10 s. */
  watchdogMs?: number;
  /** PEM certificate(s) trusted for a wss:// coordinator instead of the system's CAs. */
  tlsCa?: string | Buffer;
  /**
   * The model (zoo name, module or model.json) this worker may build. A job naming a model
   * file runs only on workers given their copy of it here; zoo models need nothing.
   */
  model?: string;
  /** The data set this worker may read (`npy:…`, `csv:…`, `images:…`); mnist and synthetic need nothing. */
  dataset?: string;
  /** Rejoin when the coordinator goes away and comes back (e.g. restarted with --resume). Default true. */
  reconnect?: boolean;
  log?: StructuredLog;
}

export interface WorkerProcessResult {
  jobId: string;
  processRank: number;
  /** Global ranks this process hosted at the end. */
  ranks: number[];
}

/**
 * A main-thread block longer than this is warned about: the coordinator drops a worker
 * that answers no ping for 3 s (its default), and the link answers only from this loop.
 */
export const EVENT_LOOP_WARN_MS = 1000;

/**
 * A worker process: joins the coordinator's job, links to its ring peers, runs one rank
 * thread per replica on a hierarchical communicator, and relays orders and reports
 * until the job is done. When the coordinator goes away it starts over: it reconnects
 * with backoff (up to `connectTimeoutMs`) and joins again, as after a coordinator
 * restart with --resume. Throws, after telling the coordinator, when it cannot go on.
 */
export async function runWorker(options: WorkerProcessOptions): Promise<WorkerProcessResult> {
  const log = options.log ?? SILENT_LOG;
  const backend = threadBackend(options.backend, options.threads, options.allowCpu);
  for (;;) {
    const session = new CoordinatorSession({
      coordinator: options.coordinator,
      token: options.token,
      jobId: options.jobId,
      threads: options.threads,
      backend,
      launchIndex: options.launchIndex,
      advertiseHost: options.advertiseHost,
      listenHost: options.listenHost ?? '0.0.0.0',
      peerPort: options.peerPort ?? 0,
      connectTimeoutMs: options.connectTimeoutMs ?? 120_000,
      assignTimeoutMs: options.assignTimeoutMs ?? 3_600_000,
      startupTimeoutMs: options.startupTimeoutMs ?? 300_000,
      watchdogMs: options.watchdogMs ?? 10_000,
      tlsCa: options.tlsCa,
      own: { model: options.model, dataset: options.dataset },
      log,
    });
    if (options.leave?.aborted === true) throw new WorkerError('WORKER_ERR_LEFT', 'left the job before joining');
    const onLeave = (): void => session.leave(String(options.leave?.reason ?? 'SIGTERM'));
    options.leave?.addEventListener('abort', onLeave, { once: true });
    // Measured over each session, so that a block that starves the coordinator link is
    // seen in the worker's own log (and by the tests), not only as a lost heartbeat.
    const delay = monitorEventLoopDelay({ resolution: 20 });
    delay.enable();
    try {
      return await session.run();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'WORKER_ERR_COORDINATOR_LOST' || options.reconnect === false) throw error;
      log.warn({ error: (error as Error).message }, `${(error as Error).message}; reconnecting`);
    } finally {
      options.leave?.removeEventListener('abort', onLeave);
      delay.disable();
      const eventLoopDelayMaxMs = Math.round(delay.max / 1e6);
      const fields = { eventLoopDelayMaxMs, eventLoopDelayP99Ms: Math.round(delay.percentile(99) / 1e6) };
      const text = `the main thread (the coordinator link) was blocked for at most ${eventLoopDelayMaxMs} ms at a time`;
      if (eventLoopDelayMaxMs > EVENT_LOOP_WARN_MS) log.warn(fields, `${text}: the coordinator drops a worker silent for 3 s`);
      else log.info(fields, text);
    }
  }
}
