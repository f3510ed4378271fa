import type { Server, Socket } from 'node:net';
import { PROTOCOL_VERSION, type FrameLimits } from '@tfjs-ddp/protocol';
import { collectiveError } from '../errors.js';
import type { CollectiveError } from '../errors.js';
import { acceptHandshake, dialHandshake } from '../transport/handshake.js';
import type { LinkIdentity } from '../transport/handshake.js';
import { dial, listen } from '../transport/listen-dial.js';
import { PeerConnection } from '../transport/peer-connection.js';
import { ProcessGroup, rankLayoutOf, type PeerAddress, type ProcessGroupOptions } from './process-group.js';
import { SocketLink } from '../transport/socket-link.js';

/**
 * Accepted connections a forming group keeps in handshake at once. Past it, the oldest
 * is dropped to make room, not the newcomer: refusing newcomers would let whoever fills
 * the slots first lock the real peers out until their deadline, while a real peer
 * finishes its handshake in a round trip or two, so evicting the oldest almost only ever
 * drops strangers (and a real peer that is dropped dials again).
 */
const MAX_PENDING_HANDSHAKES = 64;

/** Default of `ProcessGroupOptions.handshakeTimeoutMs`. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

const EARLY_SOCKET_MS = 120_000;
/** Sockets held before `connect()`; past it the oldest is dropped, for the same reason. */
const MAX_EARLY_SOCKETS = 256;

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
    const handshakeMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    /** Accepted connections still in handshake, oldest first (a Set keeps insertion order). */
    const pending = new Set<PeerConnection>();
    // Two connections per peer: `rx` we dialed (and receive on), `tx` the peer dialed.
    const rx = new Map<number, PeerConnection>();
    const tx = new Map<number, PeerConnection>();
    const links = new Map<number, SocketLink>();
    const all = new Set<PeerConnection>();
    const cancel = { cancelled: false };
    let refusal: CollectiveError | undefined;

    return new Promise<ProcessGroup>((resolve, reject) => {
      const finish = (err?: CollectiveError): void => {
        if (cancel.cancelled) return;
        cancel.cancelled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
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
      const onAbort = (): void => {
        const why = String(options.signal?.reason ?? 'aborted');
        finish(collectiveError('COLL_ERR_ABORTED', `rank ${rank}: stopped forming the group: ${why}`, rank));
      };
      if (options.signal?.aborted === true) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });

      this.acceptor = (socket) => {
        if (pending.size >= MAX_PENDING_HANDSHAKES) {
          const oldest = pending.values().next().value as PeerConnection;
          pending.delete(oldest);
          oldest.destroy(collectiveError('COLL_ERR_CONNECT', `dropped: ${MAX_PENDING_HANDSHAKES} handshakes were pending and a newer connection came`));
        }
        const connection = new PeerConnection(-1, options.limits);
        connection.attach(socket, true);
        all.add(connection);
        pending.add(connection);
        // The connection's own deadline, apart from the group's: a stranger that never
        // proves anything gives its slot back in seconds.
        const handshakeTimer = setTimeout(() => {
          connection.destroy(collectiveError('COLL_ERR_AUTH', `rank ${connection.peer} did not finish the handshake in ${handshakeMs} ms`, connection.peer));
        }, Math.min(handshakeMs, Math.max(1, deadline - Date.now())));
        acceptHandshake(connection, me, (q) => q !== rank && !tx.has(q), Math.max(1, Math.min(handshakeMs, deadline - Date.now()))).then(
          (peer) => {
            clearTimeout(handshakeTimer);
            pending.delete(connection);
            if (cancel.cancelled) return;
            tx.set(peer, connection);
            established();
          },
          (err: CollectiveError) => {
            clearTimeout(handshakeTimer);
            pending.delete(connection);
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
    all: Set<PeerConnection>
  ): Promise<PeerConnection> {
    for (;;) {
      const connection = new PeerConnection(address.rank, limits);
      const socket = await dial(address.host, address.port, deadline, cancel, connection.onreadOptions());
      if (cancel.cancelled) {
        // The group failed or was abandoned while this dial was under way: nothing may hold the socket.
        socket.destroy();
        throw collectiveError('COLL_ERR_ABORTED', 'the group stopped forming', address.rank);
      }
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
    if (this.early.length >= MAX_EARLY_SOCKETS) this.early.shift()?.destroy();
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

/** Listens on `host:port` and connects in one call (when addresses are known up front). */
export async function connectProcessGroup(options: ProcessGroupOptions & { host?: string; port?: number }): Promise<ProcessGroup> {
  const listener = await ProcessGroupListener.open({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return listener.connect(options);
}
