import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_FRAME_LIMITS, FRAME_PREFIX_BYTES, JobSocket, type Message, type StructuredLog } from '@tfjs-ddp/protocol';
import { CoordinatorError } from './errors.js';
import { startHeartbeat } from './heartbeat.js';
import { presentedToken, tokenMatches } from './secrets.js';
import type { JobState } from './status.js';
import { describeSession, IN_RING, type WorkerSession } from './worker-session.js';

/**
 * The largest WebSocket message a connection may send before it is admitted: one frame
 * with the largest header and no payload (a join is a few hundred bytes).
 */
export const PRE_ADMISSION_MAX_PAYLOAD = FRAME_PREFIX_BYTES + DEFAULT_FRAME_LIMITS.maxHeaderBytes;
/** The largest message an admitted worker may send: a frame with the largest header and payload. */
export const ADMITTED_MAX_PAYLOAD = FRAME_PREFIX_BYTES + DEFAULT_FRAME_LIMITS.maxHeaderBytes + DEFAULT_FRAME_LIMITS.maxPayloadBytes;

/**
 * Raises one connection's message limit once it is admitted. `ws` has one maxPayload per
 * server, but each connection's Receiver keeps its own copy (`_maxPayload`), checked
 * against every frame's length field as soon as the frame header is read, before any of
 * the payload is buffered. So the server is made with the small pre-admission limit, and
 * an admitted connection's receiver gets the large one. A size check in the 'message'
 * handler would come too late (ws has already buffered the whole message). This touches
 * a private field: if a ws upgrade renames it, we fail loudly here (admitted workers
 * could not send big frames), never silently let strangers send big ones.
 */
function allowLargeMessages(ws: WebSocket, maxPayload: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } | null })._receiver;
  if (receiver === undefined || receiver === null || typeof receiver._maxPayload !== 'number') {
    throw new CoordinatorError(
      'COORD_ERR_WS_INTERNALS',
      'this version of ws keeps no per-connection maxPayload; the coordinator cannot raise an admitted worker\'s message limit',
    );
  }
  receiver._maxPayload = maxPayload;
}

/** Answers an upgrade without a WebSocket and closes the connection once the answer is out. */
function refuseUpgrade(socket: Duplex, status: string): void {
  socket.once('finish', () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** A reason short enough for a frame's string field and a log line (it may quote what a peer sent). */
function clip(text: string, max = 500): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

export interface WorkerSessionsOptions {
  jobId: string;
  /** The job token every worker must present. */
  token: string;
  /** Workers the job takes. */
  workers: number;
  /** A connection must send its join within this. */
  handshakeTimeoutMs: number;
  /** Open WebSocket connections at most (joined or not). */
  maxConnections: number;
  /** Open connections not yet admitted at most (each has the token: strangers never get a socket). Default 64. */
  maxPending?: number;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  log: StructuredLog;
  /** The job's state now: who is admitted depends on it. */
  jobState: () => JobState;
}

/** What the coordinator does with admitted workers. */
export interface WorkerSessionsHandlers {
  admitted(session: WorkerSession): void;
  /** A message of an admitted worker (its join excepted). */
  message(session: WorkerSession, message: Message, payload: Uint8Array): void;
  /** An admitted worker sent what does not decode or validate; it has been told and closed. */
  invalid(session: WorkerSession, reason: string): void;
  /** An admitted worker's connection closed, or it answered no ping within the deadline. */
  lost(session: WorkerSession, reason: string): void;
}

/**
 * The coordinator's worker connections: the WebSocket upgrade (with a cap on open
 * connections), the handshake deadline, admission (token in constant time, job id,
 * room in the job), heartbeats, and the views of who is where. A connection that never
 * joined is refused with a code and forgotten; the job only ever sees admitted workers.
 */
export class WorkerSessions {
  private readonly sessions = new Map<string, WorkerSession>();
  // Every connection starts with the small limit; admission raises it (allowLargeMessages).
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: PRE_ADMISSION_MAX_PAYLOAD, perMessageDeflate: false });
  private nextSession = 1;

  constructor(
    private readonly options: WorkerSessionsOptions,
    private readonly handlers: WorkerSessionsHandlers,
  ) {}

  get(id: string): WorkerSession | undefined {
    return this.sessions.get(id);
  }

  all(): WorkerSession[] {
    return [...this.sessions.values()];
  }

  /** Admitted workers that are still connected (before the job starts: all of them). */
  joined(): WorkerSession[] {
    return this.all().filter((s) => s.join !== undefined && s.state !== 'closed' && s.state !== 'joining');
  }

  /** The workers of the current ring, in ring order. */
  ring(): WorkerSession[] {
    return this.all().filter((s) => IN_RING.has(s.state)).sort((a, b) => (a.assigned?.processRank ?? 0) - (b.assigned?.processRank ?? 0));
  }

  /** Workers admitted while the job runs, waiting for a step boundary to enter the ring. */
  pendingJoiners(): WorkerSession[] {
    return this.options.jobState() === 'waiting' ? [] : this.all().filter((s) => s.state === 'joined');
  }

  /** Forgets a worker that left before it entered the ring. */
  forget(session: WorkerSession): void {
    this.sessions.delete(session.id);
  }

  /**
   * The token is checked here, before a WebSocket exists: a client without it is answered
   * 401 and never holds a socket, a buffer or a session (the join's token is checked again).
   */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const token = presentedToken(request.headers);
    if (token === undefined || !tokenMatches(token, this.options.token)) return refuseUpgrade(socket, '401 Unauthorized');
    const open = this.all().filter((s) => s.state !== 'closed');
    if (open.length >= this.options.maxConnections || open.filter((s) => s.state === 'joining').length >= (this.options.maxPending ?? 64)) {
      return refuseUpgrade(socket, '503 Service Unavailable');
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
  }

  /**
   * Closes every connection with `closeReason` (what a worker logs, e.g. that the job is
   * paused for a --resume); one still expected to join is told why it will not be admitted.
   */
  closeAll(closeReason = 'coordinator closing'): void {
    for (const s of this.sessions.values()) {
      clearTimeout(s.handshakeTimer);
      s.stopHeartbeat?.();
      const reason = `job ${this.options.jobId} is over; the coordinator is closing`;
      if (s.state === 'joining') s.socket.send({ t: 'refuse', code: 'COORD_ERR_CLOSED', reason });
      s.socket.close(1001, closeReason);
    }
    this.wss.close();
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const id = `w${this.nextSession++}`;
    const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
    // The socket's handlers need the session, and the session holds the socket.
    const ref: { session?: WorkerSession } = {};
    const socket = new JobSocket(ws, {
      message: (message, payload) => ref.session !== undefined && this.onMessage(ref.session, message, payload),
      invalid: (error) => ref.session !== undefined && this.dropInvalid(ref.session, error),
      close: () => ref.session !== undefined && this.onClose(ref.session),
    });
    const session: WorkerSession = { id, socket, remote, state: 'joining', lastStepMs: null };
    ref.session = session;
    const handshakeMs = this.options.handshakeTimeoutMs;
    const noJoin = `no join message within ${Math.round(handshakeMs / 1000)} s`;
    session.handshakeTimer = setTimeout(() => this.refuse(session, 'COORD_ERR_HANDSHAKE_TIMEOUT', noJoin), handshakeMs);
    this.sessions.set(id, session);
  }

  private refuse(session: WorkerSession, code: string, text: string): void {
    const reason = clip(text);
    clearTimeout(session.handshakeTimer);
    this.options.log.warn({ worker: describeSession(session), code: clip(code, 64) }, `refused ${session.id}: ${reason}`);
    session.socket.send({ t: 'refuse', code, reason });
    session.socket.close(1008, code);
    // Forget it: it never was part of the job.
    session.state = 'closed';
    this.sessions.delete(session.id);
  }

  private onMessage(session: WorkerSession, message: Message, payload: Uint8Array): void {
    if (session.state === 'closed') return;
    if (session.state !== 'joining') return this.handlers.message(session, message, payload);
    if (message.t !== 'join') return this.refuse(session, 'COORD_ERR_UNEXPECTED_MESSAGE', `expected join, got ${message.t}`);
    this.admit(session, message);
  }

  private admit(session: WorkerSession, message: Extract<Message, { t: 'join' }>): void {
    const o = this.options;
    clearTimeout(session.handshakeTimer);
    if (!tokenMatches(message.token, o.token)) return this.refuse(session, 'COORD_ERR_BAD_TOKEN', 'wrong job token');
    if (message.jobId !== '' && message.jobId !== o.jobId) {
      return this.refuse(session, 'COORD_ERR_WRONG_JOB', `this coordinator runs job ${o.jobId}, not ${clip(message.jobId, 64)}`);
    }
    const state = o.jobState();
    const inJob = state === 'waiting' ? this.joined().length : this.ring().length + this.pendingJoiners().length;
    if (inJob >= o.workers || state === 'finished' || state === 'failed') {
      return this.refuse(session, 'COORD_ERR_JOB_FULL', `job ${o.jobId} already has its ${o.workers} worker(s)`);
    }
    allowLargeMessages(session.socket.ws, ADMITTED_MAX_PAYLOAD);
    session.join = message;
    session.state = 'joined';
    const liveness = { intervalMs: o.heartbeatMs, timeoutMs: o.heartbeatTimeoutMs, progressAt: () => session.socket.progressAt };
    session.stopHeartbeat = startHeartbeat(session.socket.ws, liveness, (silentMs) =>
      this.handlers.lost(session, `lost worker ${describeSession(session)}: no heartbeat for ${Math.round(silentMs)} ms`),
    );
    this.handlers.admitted(session);
  }

  /**
   * A connection that sent what does not decode, validate or belong: one that never joined
   * is refused; an admitted worker is told why, closed and reported to the handlers.
   */
  dropInvalid(session: WorkerSession, error: Error): void {
    const code = (error as { code?: string }).code ?? 'PROTOCOL_ERR_DECODE';
    if (session.join === undefined) {
      this.refuse(session, code, error.message);
      return;
    }
    session.socket.send({ t: 'fail', code, reason: clip(error.message), rank: -1 });
    session.socket.close(1008, code);
    this.handlers.invalid(session, `${describeSession(session)} sent an invalid message (${code}: ${clip(error.message, 200)})`);
  }

  private onClose(session: WorkerSession): void {
    clearTimeout(session.handshakeTimer);
    session.stopHeartbeat?.();
    if (session.state === 'joining') {
      // Never admitted: nothing to remember (or connections that come and go would pile up).
      this.sessions.delete(session.id);
      return;
    }
    if (session.state === 'closed' || session.state === 'finished') {
      session.state = 'closed';
      return;
    }
    this.handlers.lost(session, `lost worker ${describeSession(session)}: its connection closed`);
  }
}
