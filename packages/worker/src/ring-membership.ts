import { createThreadGroup, NO_TRAFFIC, ProcessGroupListener, trafficSince } from '@tfjs-ddp/collective';
import type { LinkTraffic, ProcessGroup, ThreadGroup } from '@tfjs-ddp/collective';
import { MAX_STEP_NETWORK_BYTES, reportedMs } from '@tfjs-ddp/protocol';
import type { AssignMessage, RingPlace, StepNetworkReport, StructuredLog } from '@tfjs-ddp/protocol';
import { WorkerError } from './errors.js';
import { GRADIENT_ARENA_BYTES } from './local-job.js';

export interface RingMembershipOptions {
  /** Interface the peer listener binds. */
  listenHost: string;
  /** Port of the peer listener; 0: any free one (advertised to the coordinator). */
  peerPort: number;
  /** Deadline for the links to a ring's peers. */
  connectTimeoutMs: number;
  /**
   * Aborted when the worker leaves the job: pending collectives of the current ring fail
   * (the ranks blocked in one wake up), and a ring still forming stops forming, whose links
   * would otherwise wait for peers up to the startup deadline.
   */
  leaving: AbortSignal;
  log: StructuredLog;
}

/** What every ring of the job shares: who may link, and the ranks this worker hosts. */
export type RingJob = Pick<AssignMessage, 'jobId' | 'jobSecret' | 'threads' | 'opTimeoutMs' | 'compress'>;

/**
 * This worker's part of the ring: the listener its peers link to, the process group of
 * the current generation and the thread group its ranks join. The coordinator re-forms
 * the ring on every membership change: `halt` drops the current one and opens the
 * listener of the next, `link` joins the next.
 */
export class RingMembership {
  private listener: ProcessGroupListener | undefined;
  private processGroup: ProcessGroup | undefined;
  private group: ThreadGroup | undefined;
  /** The process group's traffic when the last step was reported. */
  private trafficMark: LinkTraffic = NO_TRAFFIC;

  constructor(private readonly options: RingMembershipOptions) {
    options.leaving.addEventListener('abort', () => this.group?.abort(String(options.leaving.reason)), { once: true });
  }

  /** Opens the listener the next ring's peers link to; returns its port. */
  async listen(): Promise<number> {
    const listener = await ProcessGroupListener.open({ host: this.options.listenHost, port: this.options.peerPort });
    if (this.options.leaving.aborted) {
      // Left while opening (a halt racing the end of the job): no listener may outlive the worker.
      listener.close();
      throw new WorkerError('WORKER_ERR_LEFT', `not listening for a ring: ${String(this.options.leaving.reason)}`);
    }
    this.listener = listener;
    return listener.port;
  }

  /** Links to the ring's other processes (if any) and makes the thread group the ranks join. */
  async link(job: RingJob, { processRank, processCount, peers }: RingPlace, generation: number): Promise<ThreadGroup> {
    const listener = this.listener;
    this.listener = undefined;
    if (this.options.leaving.aborted) {
      listener?.close();
      throw new WorkerError('WORKER_ERR_LEFT', `not linking the ring: ${String(this.options.leaving.reason)}`);
    }
    if (processCount > 1) {
      if (listener === undefined) throw new WorkerError('WORKER_ERR_PROTOCOL', 'no peer listener');
      this.processGroup = await listener.connect({
        rank: processRank,
        size: processCount,
        peers,
        jobSecret: job.jobSecret,
        // Links of another job or of an older ring are refused.
        groupId: `${job.jobId}/g${generation}`,
        localSizes: [...peers].sort((p, q) => p.rank - q.rank).map((p) => p.threads),
        localSize: job.threads,
        connectTimeoutMs: this.options.connectTimeoutMs,
        opTimeoutMs: job.opTimeoutMs,
        // Gradients between processes only; the threads of this process reduce exactly.
        compress: job.compress,
        signal: this.options.leaving,
      });
      // The handshake's bytes are not a step's.
      this.trafficMark = this.processGroup.traffic();
    } else listener?.close();
    this.group = createThreadGroup({ threads: job.threads, process: this.processGroup, opTimeoutMs: job.opTimeoutMs, arenaBytes: GRADIENT_ARENA_BYTES });
    return this.group;
  }

  /**
   * What the peer links carried since the last call: called as each step is reported, so
   * it is that step's traffic (its all-reduces and SyncBN exchanges). Undefined in a ring
   * of one process, which has no peer links.
   */
  stepTraffic(): StepNetworkReport | undefined {
    const group = this.processGroup;
    if (group === undefined) return undefined;
    const now = group.traffic();
    const step = trafficSince(now, this.trafficMark);
    this.trafficMark = now;
    return stepNetworkReport(step);
  }

  /** Stops the current ring (pending collectives fail at once) and opens the listener of the next; returns its port. */
  async halt(generation: number): Promise<number> {
    this.group?.abort(`halted for generation ${generation}`);
    this.group?.close();
    this.group = undefined;
    await this.processGroup?.close();
    this.processGroup = undefined;
    this.trafficMark = NO_TRAFFIC;
    return this.listen();
  }

  /** Closes the ring's groups and the listener; call once the ranks are gone. */
  async close(): Promise<void> {
    this.group?.close();
    await this.processGroup?.close().catch((error: unknown) => this.options.log.warn({ error: (error as Error).message }, 'closing the process group failed'));
    this.listener?.close();
  }
}

/** Traffic as the protocol bounds it: whole bytes within the limit, payload within what was sent. */
export function stepNetworkReport(t: LinkTraffic): StepNetworkReport {
  const bytes = (n: number): number => Math.min(MAX_STEP_NETWORK_BYTES, Math.max(0, Math.round(n)));
  const sentBytes = bytes(t.sentBytes);
  // A send that failed before reaching its socket counted its payload but no wire bytes.
  return { sentBytes, receivedBytes: bytes(t.receivedBytes), payloadBytes: Math.min(sentBytes, bytes(t.payloadSentBytes)), netMs: reportedMs(t.busyMs) };
}

/**
 * Whether the gradient all-reduce may overlap backward here: its comm work (the process's
 * main thread) then runs beside the rank threads' compute, which needs a core they leave
 * free. With more rank threads on this machine (the ring's processes at this worker's
 * host) than cores, it only competes with the compute: bench/src/overlap measured 4 rank
 * processes on 2 cores 8 % slower overlapped, 2 on 2 cores 6 % faster.
 */
export function overlapsOnThisMachine(place: RingPlace, cores: number): { overlaps: boolean; rankThreads: number; cores: number; why: string } {
  const host = place.peers.find((p) => p.rank === place.processRank)?.host;
  const rankThreads = place.peers.filter((p) => p.host === host).reduce((n, p) => n + p.threads, 0);
  const overlaps = rankThreads <= cores;
  const why = overlaps ? '' : `${rankThreads} rank threads on ${cores} cores: the gradient all-reduce runs after backward, not beside it`;
  return { overlaps, rankThreads, cores, why };
}
