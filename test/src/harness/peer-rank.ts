/**
 * A rank process of a socket process group, driven over IPC by the peer-link tests (not
 * a test itself): listens, reports its port, connects when given the peers, runs
 * `steps` sum all-reduces of inputs that depend only on (rank, step, index), and reports
 * the running total, so a disturbed group can be compared bit for bit with an
 * undisturbed one. Failures are reported with their code.
 */
import { CollectiveError, ProcessGroupListener, type PeerAddress } from '@tfjs-ddp/collective';

export interface PeerRankStart {
  readonly rank: number;
  readonly size: number;
  readonly secret: string;
  readonly groupId: string;
  readonly connectTimeoutMs: number;
  readonly steps: number;
  readonly length: number;
}

export type PeerRankReport =
  | { readonly kind: 'port'; readonly port: number }
  | { readonly kind: 'connected'; readonly ms: number }
  | { readonly kind: 'result'; readonly total: string }
  /** The running total after each step, so a test can say which step failed and what was applied before it. */
  | { readonly kind: 'step'; readonly step: number; readonly total: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string; readonly peer?: number; readonly ms?: number }
  | { readonly kind: 'done' };

/** Deterministic input of one rank at one step. */
function peerInput(rank: number, step: number, length: number): Float32Array {
  const out = new Float32Array(length);
  let x = (rank * 7919 + step * 104729 + length) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x ^ (x >>> 13), 1597334677) + 0x6d2b79f5) >>> 0;
    out[i] = (x / 4294967296 - 0.5) * (1 + (i % 5));
  }
  return out;
}

function report(r: PeerRankReport): void {
  process.send?.(r);
}

function next<T>(): Promise<T> {
  return new Promise((resolve) => process.once('message', (m) => resolve(m as T)));
}

async function main(): Promise<void> {
  const start = await next<PeerRankStart>();
  const listener = await ProcessGroupListener.open({ host: '127.0.0.1', port: 0 });
  report({ kind: 'port', port: listener.port });
  const peers = await next<PeerAddress[]>();
  const t0 = Date.now();
  // A worker's coordinator link keeps its process alive while an operation waits on a
  // failing peer; this process has nothing else, and was seen to exit with the last
  // operation still pending once its only peer closed.
  const alive = setInterval(() => undefined, 1_000);
  try {
    const group = await listener.connect({ rank: start.rank, size: start.size, peers, jobSecret: start.secret, groupId: start.groupId, connectTimeoutMs: start.connectTimeoutMs, opTimeoutMs: 30_000 });
    report({ kind: 'connected', ms: Date.now() - t0 });
    const total = new Float32Array(start.length);
    for (let step = 0; step < start.steps; step++) {
      const buf = peerInput(start.rank, step, start.length);
      await group.allReduce(buf, 'sum');
      for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) + (buf[i] as number);
      report({ kind: 'step', step, total: Buffer.from(total.buffer).toString('base64') });
    }
    report({ kind: 'result', total: Buffer.from(total.buffer).toString('base64') });
    await group.close();
    report({ kind: 'done' });
  } catch (err) {
    const code = err instanceof CollectiveError ? err.code : ((err as { code?: string }).code ?? 'UNKNOWN');
    const peer = err instanceof CollectiveError ? err.peer : undefined;
    report({ kind: 'error', code, message: (err as Error).message, ...(peer === undefined ? {} : { peer }), ms: Date.now() - t0 });
  } finally {
    clearInterval(alive);
    listener.close();
  }
  // IPC sends are asynchronous: leave once the last report is out.
  process.send?.({ kind: 'flushed' }, () => process.disconnect());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
