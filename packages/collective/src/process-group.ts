import type { Server, Socket } from 'node:net';
import { PROTOCOL_VERSION, type FrameLimits, type Message } from '@tfjs-ddp/protocol';
import type { AsyncCommunicator } from './communicator.js';
import { collectiveError, isCollectiveErrorCode } from './errors.js';
import type { CollectiveError } from './errors.js';
import { acceptHandshake, dialHandshake } from './handshake.js';
import type { LinkIdentity } from './handshake.js';
import { dial, listen } from './link-setup.js';
import type { Link } from './link.js';
import { ProcessCommunicator } from './process-communicator.js';
import type { GroupState } from './process-communicator.js';
import { RankLayout } from './rank-layout.js';
import type { ReduceOp } from './reduce-op.js';
import { DEFAULT_ALGORITHM_OPTIONS, ScheduleCollectives } from './schedule-collectives.js';
import type { AlgorithmOptions } from './schedule-collectives.js';
import { SocketLink } from './socket-link.js';
import { Connection } from './connection.js';

export interface PeerAddress {
  readonly rank: number;
  readonly host: string;
  readonly port: number;
}

/** How long a lost connection waits for an abort notice that names the root cause. */
const LOSS_GRACE_MS = 100;

/** Connections a forming group keeps in handshake beyond its peers' own. */
const MAX_HANDSHAKING = 64;

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
  /** Deadline of every operation. Default 60 s. */
  readonly opTimeoutMs?: number;
  readonly algorithms?: Partial<AlgorithmOptions>;
  readonly limits?: FrameLimits;
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
  private failed: CollectiveError | undefined;
  private lossTimer: NodeJS.Timeout | undefined;
  private readonly world: ProcessCommunicator;
  private readonly subgroups = new Map<string, ProcessCommunicator>();
  private readonly failureListeners = new Set<(err: CollectiveError) => void>();
  private readonly algorithms: AlgorithmOptions;

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

  allReduce(buf: Float32Array, op: ReduceOp = 'sum'): Promise<void> {
    return this.world.allReduce(buf, op);
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
    const notice: Message = { v: 1, t: 'abort', code: err.code, rank: err.peer ?? this.rank, reason: err.message.slice(0, 500) };
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

const EARLY_SOCKET_MS = 120_000;

/**
 * Listens before the peers are known, so a worker can advertise its port; `connect`
 * then authenticates a link to every other rank: every rank dials every other one and
 * receives on the connection it dialed (see `SocketLink`).
 */
export class ProcessGroupListener {
  private readonly early: Socket[] = [];
  private acceptor: ((socket: Socket) => void) | undefined;

  private constructor(
    private readonly server: Server,
    readonly host: string
  ) {}

  static async open(options: { host?: string; port?: number } = {}): Promise<ProcessGroupListener> {
    const host = options.host ?? '127.0.0.1';
    // The server exists before the listener object that handles its sockets.
    const holder: { self?: ProcessGroupListener } = {};
    const server = await listen(host, options.port ?? 0, (socket) => holder.self?.onSocket(socket));
    holder.self = new ProcessGroupListener(server, host);
    return holder.self;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  close(): void {
    this.server.close();
    for (const s of this.early.splice(0)) s.destroy();
  }

  async connect(options: ProcessGroupOptions): Promise<ProcessGroup> {
    const { rank, size } = options;
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(rank) || rank < 0 || rank >= size) {
      throw collectiveError('COLL_ERR_ARGUMENT', `rank ${rank} of size ${size}`);
    }
    const secret = typeof options.jobSecret === 'string' ? Buffer.from(options.jobSecret, 'utf8') : options.jobSecret;
    if (secret.byteLength === 0) throw collectiveError('COLL_ERR_ARGUMENT', 'the job secret is empty');
    const me: LinkIdentity = { group: options.groupId ?? 'default', rank, size, localSizes: rankLayoutOf(options).sizes, secret };
    const timeoutMs = options.connectTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    // Two connections per peer: `rx` we dialed (and receive on), `tx` the peer dialed.
    const rx = new Map<number, Connection>();
    const tx = new Map<number, Connection>();
    const links = new Map<number, SocketLink>();
    const all = new Set<Connection>();
    const cancel = { cancelled: false };
    let refusal: CollectiveError | undefined;

    return new Promise<ProcessGroup>((resolve, reject) => {
      const finish = (err?: CollectiveError): void => {
        if (cancel.cancelled) return;
        cancel.cancelled = true;
        clearTimeout(timer);
        this.acceptor = undefined;
        this.close();
        if (err) {
          for (const c of all) c.destroy(err);
          reject(err);
        } else {
          // Strangers still mid-handshake would otherwise hold their sockets until the connect deadline.
          const used = new Set([...rx.values(), ...tx.values()]);
          for (const c of all) {
            if (used.has(c)) continue;
            const reason = 'the group formed without this connection';
            c.sendControl({ v: PROTOCOL_VERSION, t: 'abort', code: 'COLL_ERR_CONFIG', rank, reason });
            c.destroy(collectiveError('COLL_ERR_CONFIG', reason));
          }
          resolve(new ProcessGroup(options, links));
        }
      };
      const established = (): void => {
        for (const [q, r] of rx) {
          const t = tx.get(q);
          if (t && !links.has(q)) links.set(q, new SocketLink(q, r, t));
        }
        if (links.size === size - 1) finish();
      };
      const timer = setTimeout(() => {
        const missing = Array.from({ length: size }, (_, r) => r).filter((r) => r !== rank && !links.has(r));
        const why = refusal ? `; last refused connection: ${refusal.code} ${refusal.message}` : '';
        finish(collectiveError('COLL_ERR_CONNECT', `rank ${rank}: no link to rank(s) ${missing.join(',')} within ${timeoutMs} ms${why}`, missing[0]));
      }, timeoutMs);

      this.acceptor = (socket) => {
        // Only strangers push the count past the real peers' links; past the cap they are dropped unread.
        if (all.size >= MAX_HANDSHAKING + 2 * size) {
          socket.destroy();
          return;
        }
        const connection = new Connection(-1, options.limits);
        connection.attach(socket, true);
        all.add(connection);
        acceptHandshake(connection, me, (q) => q !== rank && !tx.has(q), Math.max(1, deadline - Date.now())).then(
          (peer) => {
            if (cancel.cancelled) return;
            tx.set(peer, connection);
            established();
          },
          (err: CollectiveError) => {
            // A bad or foreign connection is closed and otherwise ignored; the real peer may still come.
            refusal = err;
            all.delete(connection);
            connection.destroy(err);
          }
        );
      };
      for (const socket of this.early.splice(0)) this.acceptor(socket);

      for (let q = 0; q < size; q++) {
        if (q === rank) continue;
        const address = options.peers.find((p) => p.rank === q);
        if (!address) {
          finish(collectiveError('COLL_ERR_ARGUMENT', `no address for rank ${q}`, q));
          return;
        }
        this.dialPeer(address, me, deadline, cancel, options.limits, all).then(
          (connection) => {
            if (cancel.cancelled) return;
            rx.set(q, connection);
            established();
          },
          (err: CollectiveError) => finish(err)
        );
      }
      if (size === 1) finish();
    });
  }

  private async dialPeer(
    address: PeerAddress,
    me: LinkIdentity,
    deadline: number,
    cancel: { cancelled: boolean },
    limits: FrameLimits | undefined,
    all: Set<Connection>
  ): Promise<Connection> {
    for (;;) {
      const connection = new Connection(address.rank, limits);
      const socket = await dial(address.host, address.port, deadline, cancel, connection.onreadOptions());
      connection.attach(socket, false);
      all.add(connection);
      try {
        await dialHandshake(connection, me, address.rank, Math.max(1, deadline - Date.now()));
        return connection;
      } catch (err) {
        all.delete(connection);
        const error = err as CollectiveError;
        connection.destroy(error);
        // A wrong secret or configuration will not fix itself; a dropped connection may.
        if (error.code === 'COLL_ERR_AUTH' || error.code === 'COLL_ERR_CONFIG' || cancel.cancelled || Date.now() >= deadline) throw error;
      }
    }
  }

  private onSocket(socket: Socket): void {
    if (this.acceptor) {
      this.acceptor(socket);
      return;
    }
    // Peers may dial before this side calls connect(); hold a bounded number of them, and
    // not forever: a connect() that never comes must not pin them.
    if (this.early.length >= 256) {
      socket.destroy();
      return;
    }
    this.early.push(socket);
    setTimeout(() => {
      const at = this.early.indexOf(socket);
      if (at >= 0) {
        this.early.splice(at, 1);
        socket.destroy();
      }
    }, EARLY_SOCKET_MS).unref();
  }
}

/** The thread counts of the options, checked (COLL_ERR_ARGUMENT). */
function rankLayoutOf(options: ProcessGroupOptions): RankLayout {
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

/** Listens on `host:port` and connects in one call (when addresses are known up front). */
export async function connectProcessGroup(options: ProcessGroupOptions & { host?: string; port?: number }): Promise<ProcessGroup> {
  const listener = await ProcessGroupListener.open({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return listener.connect(options);
}
