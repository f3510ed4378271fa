import { PROTOCOL_VERSION, type Compression, type FrameLimits, type Message } from '@tfjs-ddp/protocol';
import type { AllReduceOptions, AsyncCommunicator } from '../communicator.js';
import { collectiveError, isCollectiveErrorCode } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import type { Link } from '../transport/link.js';
import { ProcessCommunicator } from './process-communicator.js';
import type { GroupState } from './process-communicator.js';
import { RankLayout } from '../rank-layout.js';
import type { ReduceOp } from '../reduce/reduce-op.js';
import { DEFAULT_ALGORITHM_OPTIONS, ScheduleCollectives } from './schedule-collectives.js';
import type { AlgorithmOptions } from './schedule-collectives.js';
import type { SocketLink } from '../transport/socket-link.js';
import { BusyClock, type LinkTraffic } from '../transport/link-traffic.js';
import type { WireDtype } from '../transport/wire-codec.js';

/** Wire formats of compressed all-reduces (`ProcessGroupOptions.compress`). */
const WIRE_OF: Readonly<Record<Compression, WireDtype>> = { none: 'float32', bf16: 'bfloat16', fp16: 'float16' };

export interface PeerAddress {
  readonly rank: number;
  readonly host: string;
  readonly port: number;
}

/** How long a lost connection waits for an abort notice that names the root cause. */
const LOSS_GRACE_MS = 100;


export interface ProcessGroupOptions {
  readonly rank: number;
  readonly size: number;
  /** Addresses of the other ranks (an entry for this rank is ignored). */
  readonly peers: readonly PeerAddress[];
  /** Per-job secret both sides of every link must know (handed out by the coordinator). */
  readonly jobSecret: string | Uint8Array;
  /** Job and generation; links of another group are refused. Default 'default'. */
  readonly groupId?: string;
  /**
   * Rank threads of every process, indexed by process rank (hierarchical groups; the
   * coordinator hands the same list to every process). Global rank of local rank l of
   * process p = localSizes[0] + ... + localSizes[p-1] + l. Every process must pass the
   * same list (checked in the handshake: COLL_ERR_CONFIG). Default: every process hosts
   * `localSize` threads.
   */
  readonly localSizes?: readonly number[];
  /**
   * Rank threads of this process. Without `localSizes`, every process hosts this many;
   * with it, must equal `localSizes[rank]` if given. Default 1.
   */
  readonly localSize?: number;
  /** Deadline for all links to be up. Default 30 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Deadline for one accepted connection to prove the job secret, counted from when this
   * side starts its handshake: a stranger's silent or half-done handshake is dropped then,
   * long before `connectTimeoutMs`. Default 5 s.
   */
  readonly handshakeTimeoutMs?: number;
  /** Deadline of every operation. Default 60 s. */
  readonly opTimeoutMs?: number;
  readonly algorithms?: Partial<AlgorithmOptions>;
  /**
   * How all-reduces that allow a lossy wire (`AllReduceOptions.compress`: gradients) travel
   * between processes: `bf16` or `fp16` halves, decoded and summed in float32 at every hop.
   * Every other operation stays exact float32. Every process must pass the same. Default none.
   */
  readonly compress?: Compression;
  readonly limits?: FrameLimits;
  /** Aborted while the links form (the caller is leaving): forming stops at once with COLL_ERR_ABORTED. */
  readonly signal?: AbortSignal;
}

/**
 * A process group: one authenticated link to every other process (a full mesh, so
 * any subgroup can run any algorithm and every process sees a peer's death directly),
 * and the collectives over them. Any failure — a lost link, a timeout, an abort here or
 * on a peer — fails the whole group: pending and later operations reject with the first
 * failure's code and peer, and the other processes are told (`abort`) so they fail fast
 * too instead of waiting for their deadlines.
 */
export class ProcessGroup implements AsyncCommunicator, GroupState {
  readonly rank: number;
  readonly size: number;
  readonly groupId: string;
  /** Rank threads of every process and their global ranks (see `ProcessGroupOptions.localSizes`). */
  readonly layout: RankLayout;
  readonly opTimeoutMs: number;
  readonly compressedWire: WireDtype;
  private failed: CollectiveError | undefined;
  private lossTimer: NodeJS.Timeout | undefined;
  private readonly world: ProcessCommunicator;
  private readonly subgroups = new Map<string, ProcessCommunicator>();
  private readonly failureListeners = new Set<(err: CollectiveError) => void>();
  private readonly algorithms: AlgorithmOptions;
  private readonly busy = new BusyClock();

  /** Use `ProcessGroupListener.connect` (or `connectProcessGroup`). */
  constructor(
    options: ProcessGroupOptions,
    private readonly links: Map<number, SocketLink>
  ) {
    this.rank = options.rank;
    this.size = options.size;
    this.groupId = options.groupId ?? 'default';
    this.layout = rankLayoutOf(options);
    this.opTimeoutMs = options.opTimeoutMs ?? 60_000;
    this.compressedWire = wireOf(options.compress ?? 'none');
    this.algorithms = { ...DEFAULT_ALGORITHM_OPTIONS, ...options.algorithms };
    const everyone = Array.from({ length: this.size }, (_, r) => r);
    this.world = new ProcessCommunicator(new ScheduleCollectives(this.rank, this.size, 'w', (q) => this.linkTo(q), this.algorithms), this, everyone);
    for (const link of links.values()) {
      link.onControl = (m) => this.onControl(link, m);
      link.onFailure = (err) => {
        // A peer that said goodbye only fails the operations that still need it.
        if (err.code !== 'COLL_ERR_PEER_CLOSED' && err.code !== 'COLL_ERR_CLOSED') this.fail(err);
      };
      link.start();
    }
  }

  allReduce(buf: Float32Array, op: ReduceOp = 'sum', options?: AllReduceOptions): Promise<void> {
    return this.world.allReduce(buf, op, options);
  }
  broadcast(buf: Float32Array, root: number): Promise<void> {
    return this.world.broadcast(buf, root);
  }
  allGather(input: Float32Array, output: Float32Array): Promise<void> {
    return this.world.allGather(input, output);
  }
  reduceScatter(input: Float32Array, output: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
    return this.world.reduceScatter(input, output, op);
  }
  barrier(): Promise<void> {
    return this.world.barrier();
  }
  split(ranks: readonly number[]): AsyncCommunicator {
    return this.subgroup(ranks);
  }

  /** Rank threads of this process. */
  get localSize(): number {
    return this.layout.sizes[this.rank] as number;
  }

  /** Rank threads of every process, indexed by process rank. */
  get localSizes(): readonly number[] {
    return this.layout.sizes;
  }

  /** The communicator over process ranks [lo, hi): the world, or a cached subgroup. */
  processRange(lo: number, hi: number): ProcessCommunicator {
    if (lo === 0 && hi === this.size) return this.world;
    return this.subgroup(Array.from({ length: hi - lo }, (_, i) => lo + i));
  }

  /** A subgroup over these process ranks (sorted, unique, including this rank); cached per member list. */
  subgroup(ranks: readonly number[]): ProcessCommunicator {
    const members = [...new Set(ranks)].sort((a, b) => a - b);
    const me = members.indexOf(this.rank);
    if (members.length !== ranks.length || me < 0 || members.some((r) => !Number.isInteger(r) || r < 0 || r >= this.size)) {
      throw collectiveError('COLL_ERR_ARGUMENT', `split: [${ranks.join(',')}] must be distinct ranks of 0..${this.size - 1} including ${this.rank}`);
    }
    const key = members.join(',');
    let sub = this.subgroups.get(key);
    if (!sub) {
      const collectives = new ScheduleCollectives(me, members.length, key, (q) => this.linkTo(members[q] as number), this.algorithms);
      sub = new ProcessCommunicator(collectives, this, members);
      this.subgroups.set(key, sub);
    }
    return sub;
  }

  /** What this group's links carried so far and how long its collectives were in flight (see `LinkTraffic`). */
  traffic(): LinkTraffic {
    let sentBytes = 0;
    let receivedBytes = 0;
    let payloadSentBytes = 0;
    let payloadReceivedBytes = 0;
    for (const link of this.links.values()) {
      const wire = link.wireBytes;
      sentBytes += wire.sent;
      receivedBytes += wire.received;
      payloadSentBytes += link.payloadSentBytes;
      payloadReceivedBytes += link.payloadReceivedBytes;
    }
    return { sentBytes, receivedBytes, payloadSentBytes, payloadReceivedBytes, busyMs: this.busy.busyMs, operations: this.busy.operations };
  }

  operationStarted(): () => void {
    return this.busy.begin();
  }

  failure(): CollectiveError | undefined {
    return this.failed;
  }

  /** Called once with the failure that ends the group (not on an orderly close). */
  onFailure(listener: (err: CollectiveError) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  /**
   * Fails the group. A lost connection waits LOSS_GRACE_MS first: when a peer dies, the
   * others fail too and close their links, and this process may see one of those closes
   * before the abort notice that names the rank that really died (notices and closes
   * travel on different connections). A notice arriving within the grace wins.
   */
  fail(err: CollectiveError): void {
    if (this.failed) return;
    if (err.code === 'COLL_ERR_PEER_LOST') {
      if (this.lossTimer === undefined) {
        this.lossTimer = setTimeout(() => this.failNow(err), LOSS_GRACE_MS);
        this.lossTimer.unref();
      }
      return;
    }
    this.failNow(err);
  }

  /** Resolves with the group's failure once it is final (see `fail`). */
  whenFailed(): Promise<CollectiveError> {
    if (this.failed) return Promise.resolve(this.failed);
    return new Promise((resolve) => this.failureListeners.add(resolve));
  }

  private failNow(err: CollectiveError): void {
    if (this.failed) return;
    clearTimeout(this.lossTimer);
    this.failed = err;
    const notice: Message = { v: PROTOCOL_VERSION, t: 'abort', code: err.code, rank: err.peer ?? this.rank, reason: err.message.slice(0, 500) };
    for (const link of this.links.values()) {
      link.sendControl(notice);
      link.destroy(collectiveError('COLL_ERR_ABORTED', `group failed: ${err.message}`, err.peer));
    }
    for (const listener of this.failureListeners) listener(err);
  }

  /** Abandons the group on demand: pending operations here and on every peer fail with COLL_ERR_ABORTED. */
  abort(reason = 'aborted on demand'): void {
    this.fail(collectiveError('COLL_ERR_ABORTED', `rank ${this.rank} aborted the group: ${reason}`, this.rank));
  }

  /** Orderly close; pending operations fail with COLL_ERR_CLOSED. Leaves no handle open. */
  async close(): Promise<void> {
    if (!this.failed) this.failed = collectiveError('COLL_ERR_CLOSED', 'the process group was closed');
    const closed = [...this.links.values()].flatMap((link) =>
      link.sockets.map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))))
    );
    for (const link of this.links.values()) link.close();
    await Promise.all(closed);
  }

  private linkTo(peer: number): Link {
    const link = this.links.get(peer);
    if (!link) throw collectiveError('COLL_ERR_ARGUMENT', `no link to rank ${peer}`, peer);
    return link;
  }

  private onControl(link: SocketLink, m: Message): void {
    if (m.t === 'bye') {
      link.markByeReceived();
    } else if (m.t === 'abort') {
      const code = isCollectiveErrorCode(m.code) ? m.code : 'COLL_ERR_ABORTED';
      // A notice names the root cause: final at once, even within a lost connection's grace.
      this.failNow(collectiveError(code, `rank ${link.peer} abandoned the group: ${m.reason}`, m.rank));
    } else {
      link.destroy(collectiveError('COLL_ERR_PROTOCOL', `rank ${link.peer} sent ${m.t} on an established link`, link.peer));
    }
  }
}

/** The thread counts of the options, checked (COLL_ERR_ARGUMENT). */
export function rankLayoutOf(options: ProcessGroupOptions): RankLayout {
  const { localSizes, localSize, size, rank } = options;
  if (localSizes === undefined) return RankLayout.uniform(size, localSize ?? 1);
  if (localSizes.length !== size) {
    throw collectiveError('COLL_ERR_ARGUMENT', `localSizes lists ${localSizes.length} processes for a group of ${size}`);
  }
  if (localSize !== undefined && localSizes[rank] !== localSize) {
    throw collectiveError('COLL_ERR_ARGUMENT', `localSize ${localSize} is not localSizes[${rank}] = ${localSizes[rank]}`);
  }
  return new RankLayout(localSizes);
}

function wireOf(compress: Compression): WireDtype {
  const wire = Object.hasOwn(WIRE_OF, compress) ? WIRE_OF[compress] : undefined;
  if (wire === undefined) throw collectiveError('COLL_ERR_ARGUMENT', `compress must be one of ${Object.keys(WIRE_OF).join(', ')}, got ${String(compress)}`);
  return wire;
}
