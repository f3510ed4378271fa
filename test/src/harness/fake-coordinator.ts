import { WebSocketServer } from 'ws';
import { JobSocket, type AssignMessage, type JobConfig, type Message } from '@tfjs-ddp/protocol';

/** What a fake coordinator assigns, besides the ring fields it fills in itself. */
export interface FakeJob {
  config: JobConfig;
  modelHash: string;
  datasetFingerprint: string;
  inputShape: number[];
  numClasses: number;
  dataSource?: 'local' | 'coordinator';
}

export interface FakeCoordinator {
  readonly url: string;
  /** Every message the worker sent, in order. */
  readonly received: Message[];
  /** Resolves with the first message of type `t` (rejects after `timeoutMs`). */
  next(t: Message['t'], timeoutMs: number): Promise<Message>;
  close(): Promise<void>;
}

/**
 * A coordinator as an attacker runs one: plain ws://, no token check, speaking the real
 * protocol (through the real JobSocket). It admits whoever joins and assigns them a
 * one-process job whose config names whatever it likes; tests see what the worker does.
 */
export async function startFakeCoordinator(job: FakeJob): Promise<FakeCoordinator> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const received: Message[] = [];
  const waiters: Array<{ t: Message['t']; resolve: (m: Message) => void }> = [];
  const sockets: JobSocket[] = [];
  server.on('connection', (ws) => {
    const socket: JobSocket = new JobSocket(ws, {
      message: (message) => {
        received.push(message);
        for (const w of waiters.filter((x) => x.t === message.t)) w.resolve(message);
        if (message.t === 'join') socket.send(assignment(job, message.peerPort));
      },
      invalid: () => ws.terminate(),
      close: () => undefined,
    });
    sockets.push(socket);
    // The worker's watchdog wants pings from a live coordinator.
    const ping = setInterval(() => ws.ping(), 500);
    ws.once('close', () => clearInterval(ping));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    next: (t, timeoutMs) => {
      const seen = received.find((m) => m.t === t);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<Message>((resolve, reject) => {
        const got = (): string => received.map((m) => m.t).join(', ');
        const timer = setTimeout(() => reject(new Error(`no ${t} from the worker within ${timeoutMs} ms (got: ${got()})`)), timeoutMs);
        waiters.push({ t, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    close: async () => {
      for (const s of sockets) s.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function assignment(job: FakeJob, peerPort: number): Omit<AssignMessage, 'v'> {
  return {
    t: 'assign',
    jobId: 'fake-job',
    generation: 0,
    joining: false,
    jobSecret: 'fake-secret-fake-secret-fake-secret',
    processRank: 0,
    processCount: 1,
    rankOffset: 0,
    threads: 1,
    worldSize: 1,
    peers: [{ rank: 0, host: '127.0.0.1', port: peerPort, threads: 1 }],
    config: job.config,
    bnMode: 'sync',
    dataSource: job.dataSource ?? 'local',
    datasetFingerprint: job.datasetFingerprint,
    inputShape: job.inputShape,
    numClasses: job.numClasses,
    modelHash: job.modelHash,
    checkReplicasEvery: 0,
    opTimeoutMs: 60_000,
    compress: 'none',
  };
}
