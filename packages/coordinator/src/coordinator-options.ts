import type { BalanceMode, JobDriverHooks } from '@tfjs-ddp/job';
import type { Compression, DataSource, JobConfig, StructuredLog } from '@tfjs-ddp/protocol';
import type { TlsFiles } from './http-server.js';

export interface CoordinatorOptions {
  /** Interface to listen on. Default 0.0.0.0. */
  host?: string;
  /** Port of the WebSocket endpoint (any path) and the HTTP routes. Default 7070; 0 picks a free one. */
  port?: number;
  /** Serve HTTPS and wss:// with this certificate and key. Default: plain HTTP and ws://. */
  tls?: TlsFiles;
  /** The job token every worker must present. */
  token: string;
  /** Default: random. Workers may name it to refuse joining another job. */
  jobId?: string;
  /** Worker processes to wait for. */
  workers: number;
  config: JobConfig;
  /** local | sync | sync:K. Default sync. */
  bnMode?: string;
  /** Who reads the data: `local` (every worker its own copy, checked by fingerprint) or `coordinator` (streamed). Default local. */
  dataSource?: DataSource;
  /** Shard sizes: even, or in proportion to each rank's measured speed. Default even. */
  balance?: BalanceMode;
  /** The run folder: the trained model, metrics.jsonl and checkpoints/ go there. */
  outDir: string;
  /** Checkpoint after every this many steps as well as at every epoch end; 0: at epoch ends only. Default 0. */
  checkpointEvery?: number;
  /** Complete checkpoints kept. Default 3. */
  keepCheckpoints?: number;
  /** A run folder to continue from its newest good checkpoint (none there yet: start at step 1). */
  resume?: string;
  /** With `resume`: a corrupt newest checkpoint is passed over for the newest good one, not refused. Default false. */
  resumeFallback?: boolean;
  /** Compare replicas' weight checksums every this many steps (0: never). Default 0. */
  checkReplicasEvery?: number;
  /** Deadline for all workers to join. Default 300 s. */
  waitTimeoutMs?: number;
  /** Deadline for the joined workers to load backend, data and model. Default 300 s. */
  readyTimeoutMs?: number;
  /** Deadline for every rank to report a step. Default 300 s. */
  stepTimeoutMs?: number;
  /** Deadline of one collective operation on the workers. Default 120 s. */
  opTimeoutMs?: number;
  /**
   * Wire format of the gradient all-reduce between worker processes: bf16 or fp16 halves
   * summed in float32 at every hop, or exact float32. Threads of one process, SyncBN
   * statistics, checksums, broadcasts and checkpoints stay float32. Default none.
   */
  compress?: Compression;
  /** A connection must send its join within this. Default 5 s (it has the token already; a worker joins at once). */
  handshakeTimeoutMs?: number;
  /** Open WebSocket connections at most (joined or not). Default 256. */
  maxConnections?: number;
  /** Steps sent ahead. Default 2. */
  prefetch?: number;
  /** Training goes on while at least this many workers remain; below, it waits `rejoinTimeoutMs` for others. Default 1. */
  minWorkers?: number;
  /** How long to wait for workers to (re)join when fewer than `minWorkers` remain. Default 60 s. */
  rejoinTimeoutMs?: number;
  /** Ping every worker this often (ms). Default 1000. */
  heartbeatMs?: number;
  /** A worker that answered no ping for this long is lost. Default 3000. */
  heartbeatTimeoutMs?: number;
  /** Consecutive regroups without a committed step in between before the job gives up. Default 5. */
  maxRecoveries?: number;
  log?: StructuredLog;
  /** Membership changes, for logs and tests. */
  onMembership?: (event: MembershipEvent) => void;
  hooks?: JobDriverHooks & { onWaiting?: (joined: number, expected: number) => void };
}

/** A change of the job's membership. */
export interface MembershipEvent {
  kind: 'lost' | 'joined' | 'regrouped';
  generation: number;
  /** The worker concerned (lost or joined), if one. */
  worker?: string;
  reason?: string;
  /** Workers in the ring after a regroup, and the step training goes on from. */
  workers?: number;
  fromStep?: number;
}
