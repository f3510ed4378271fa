import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerAddress } from '@tfjs-ddp/collective';
import type { PeerRankReport, PeerRankStart } from './peer-rank.js';

const RANK_SCRIPT = fileURLToPath(new URL('./peer-rank.js', import.meta.url));

/** A process group of `peer-rank.ts` processes, whose connect the test releases rank by rank. */
export interface PeerRanks {
  readonly ports: number[];
  readonly reports: PeerRankReport[][];
  /** Hands process `i` the addresses of the others (rank r at ports[r]): it starts connecting. */
  release(i: number): void;
  /** Hands process `i` these peer addresses instead (an intruder aims at someone else's group). */
  releaseWith(i: number, peers: readonly PeerAddress[]): void;
  waitFor(what: string, pred: () => boolean, ms: number): Promise<void>;
  /** Every rank's final total (base64 of its float32 bytes), once all reported. */
  totals(): string[];
  /** Error codes reported, by rank. */
  errors(): Array<string | undefined>;
  exited(ms: number): Promise<void>;
  kill(): void;
}

/** `size` processes, ranks 0..size-1 of one group. */
export function launchPeerRanks(size: number, start: Omit<PeerRankStart, 'rank' | 'size'>): Promise<PeerRanks> {
  return launchPeerProcesses(Array.from({ length: size }, (_, rank) => ({ ...start, rank, size })));
}

/** One process per start message (each says its own rank, size and secret). */
export async function launchPeerProcesses(starts: readonly PeerRankStart[]): Promise<PeerRanks> {
  const children: ChildProcess[] = starts.map(() => fork(RANK_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const reports: PeerRankReport[][] = children.map(() => []);
  children.forEach((c, r) => c.on('message', (m) => reports[r]?.push(m as PeerRankReport)));
  const waitFor = async (what: string, pred: () => boolean, ms: number): Promise<void> => {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}; reports: ${JSON.stringify(reports)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  children.forEach((c, i) => c.send(starts[i] as PeerRankStart));
  await waitFor('every port', () => reports.every((r) => r.some((m) => m.kind === 'port')), 30_000);
  const ports = reports.map((r) => (r.find((m) => m.kind === 'port') as { port: number }).port);
  const peers = ports.map((port, rank) => ({ rank, host: '127.0.0.1', port }));
  return {
    ports,
    reports,
    release: (i) => children[i]?.send(peers),
    releaseWith: (i, addresses) => children[i]?.send(addresses),
    waitFor,
    totals: () => reports.map((r) => (r.find((m) => m.kind === 'result') as { total: string } | undefined)?.total ?? ''),
    errors: () => reports.map((r) => (r.find((m) => m.kind === 'error') as { code: string } | undefined)?.code),
    exited: async (ms) => {
      const all = Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((resolve) => c.once('exit', resolve)))));
      const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), ms).unref());
      if ((await Promise.race([all, late])) === 'late') {
        children.forEach((c) => c.kill('SIGKILL'));
        throw new Error(`rank processes did not exit within ${ms} ms`);
      }
    },
    kill: () => children.forEach((c) => c.kill('SIGKILL')),
  };
}
