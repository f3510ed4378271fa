import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { emit, parseFlags } from '../common/args.js';
import { cannotRun, createBenchNetwork, type BenchNetwork } from './netns.js';
import type { JobRun, JobSpec } from './run-job.js';

/**
 * bench/network: the 2-process job (coordinator and worker 1 on one namespace host,
 * worker 2 on another; cnn-bn, global batch 64, --data-source local) over links of
 * 1gbit, 100mbit and 10mbit (tc tbf on worker 2's link, both ways), then with 20 ms and
 * 100 ms more round trip on the peer links (a delaying TCP proxy on a third host: the
 * kernel has no netem). Reports samples/s beside the bound the link allows (link rate /
 * bytes worker 2 sent per step, as the workers measured them, x the global batch), the
 * achieved link rate and the network's share of the step, and whether the coordinator
 * warned that the network bounds the step. One JSON line per run; a table on stderr.
 *
 *   sudo node bench/dist/network/main.js [--steps 24] [--warmup 4] [--rates 1gbit,100mbit,10mbit]
 *     [--delays 20,100] [--delay-rate 1gbit] [--variants '|--compress bf16']
 *
 * --variants: job-flag variants separated by '|', each a space-separated list of extra
 * coordinator flags ('' is the plain job), so e.g. compression can be compared once it exists.
 * Needs root, ip and tc; it says so and exits 2 where it cannot run.
 */
const flags = parseFlags(process.argv.slice(2));
const steps = Number(flags.get('steps') ?? 24);
const warmup = Number(flags.get('warmup') ?? 4);
const rates = (flags.get('rates') ?? '1gbit,100mbit,10mbit').split(',').filter((r) => r.length > 0);
const delays = (flags.get('delays') ?? '20,100').split(',').filter((d) => d.length > 0).map(Number);
const delayRate = flags.get('delay-rate') ?? '1gbit';
const variants = (flags.get('variants') ?? '').split('|').map((v) => v.split(' ').filter((f) => f.length > 0));
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../../../apps/cli/dist/main.js');
const PEER_PORTS = [7201, 7202] as const;

const why = cannotRun();
if (why !== undefined) {
  process.stderr.write(`bench network cannot run here: ${why}\n`);
  emit({ bench: 'network', skipped: true, reason: why });
  process.exit(2);
}

const net = createBenchNetwork(3);
const cleanUp = (): void => net.destroy();
process.once('SIGINT', () => (cleanUp(), process.exit(130)));
process.once('SIGTERM', () => (cleanUp(), process.exit(143)));
const rows: string[] = [];
try {
  for (const jobFlags of variants) {
    for (const rate of rates) await measure(net, jobFlags, rate, 0);
    for (const rttMs of delays) await measure(net, jobFlags, delayRate, rttMs);
  }
} finally {
  cleanUp();
}
process.stderr.write(`\n${['variant', 'link', 'rtt+', 'samples/s', 'bound', 'sent/step', 'measured', 'net share', 'warned'].join('\t')}\n${rows.join('\n')}\n`);

async function measure(network: BenchNetwork, jobFlags: string[], rate: string, rttMs: number): Promise<void> {
  const [h1, h2, h3] = network.hosts as [typeof network.hosts[0], typeof network.hosts[0], typeof network.hosts[0]];
  network.shape(h2, rate);
  const proxy = rttMs > 0 ? startProxy(h3.ns, rttMs / 2, [[h3.address, PEER_PORTS[0], h1.address], [h3.address, PEER_PORTS[1], h2.address]]) : undefined;
  try {
    await proxy?.ready;
    const spec: JobSpec = {
      cli, dir: mkdtempSync(path.join(tmpdir(), 'bench-network-')), host: h1.address, worker2Ns: h2.ns,
      advertise: rttMs > 0 ? [h3.address, h3.address] : [h1.address, h2.address], peerPorts: PEER_PORTS,
      model: 'cnn-bn', globalBatch: 64, steps, warmup, jobFlags, timeoutMs: 240_000,
    };
    const run = await runJob(h1.ns, spec);
    const w2 = run.workers.find((w) => w.id === 'w2') ?? run.workers.at(-1);
    const rateBits = bitsOf(rate);
    // A worker's network time includes waiting for its peer: the one that waited least (the highest rate) measured the link.
    const rates = run.workers.map((w) => w.linkBitsPerSec ?? 0);
    const measured = rates.length > 0 ? Math.max(...rates) : 0;
    // What the link allows: the whole step's bytes at the link rate, nothing else.
    const bound = w2 !== undefined && w2.sentBytesPerStep > 0 ? (64 * rateBits) / (8 * w2.sentBytesPerStep) : null;
    const record = {
      bench: 'network', model: 'cnn-bn', globalBatch: 64, steps, warmup, variant: jobFlags.join(' ') || 'plain', link: rate, addedRttMs: rttMs,
      ok: run.ok,
      ...(run.error === undefined ? {} : { error: run.error }),
      samplesPerSec: round(run.samplesPerSec),
      linkBoundSamplesPerSec: bound === null ? null : round(bound),
      sentBytesPerStep: w2?.sentBytesPerStep ?? null, payloadBytesPerStep: w2?.payloadBytesPerStep ?? null,
      measuredLinkMbitPerSec: measured > 0 ? round(measured / 1e6) : null, networkFraction: w2?.networkFraction == null ? null : round(w2.networkFraction, 3),
      networkWarning: run.networkWarning, workers: run.workers,
    };
    emit(record);
    rows.push([record.variant, rate, `${rttMs} ms`, record.samplesPerSec, record.linkBoundSamplesPerSec ?? '–', record.sentBytesPerStep ?? '–',
      `${record.measuredLinkMbitPerSec ?? '–'} Mbit/s`, record.networkFraction ?? '–', run.networkWarning ? 'yes' : 'no'].join('\t'));
  } finally {
    proxy?.stop();
    network.shape(h2, undefined);
  }
}

function runJob(ns: string, spec: JobSpec): Promise<JobRun> {
  const args = ['netns', 'exec', ns, process.execPath, path.join(here, 'run-job.js'), JSON.stringify(spec)];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-1 << 20)));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as JobRun);
      } catch (error) {
        resolve({ ok: false, error: `runner exited ${code}: ${(error as Error).message}`, samplesPerSec: 0, workers: [], networkWarning: false });
      }
    });
  });
}

function startProxy(ns: string, oneWayMs: number, routes: [string, number, string][]): { ready: Promise<void>; stop: () => void } {
  const json = JSON.stringify(routes.map(([listenHost, port, targetHost]) => ({ listenHost, listenPort: port, targetHost, targetPort: port })));
  const args = ['netns', 'exec', ns, process.execPath, path.join(here, 'delay-proxy-main.js'), String(oneWayMs), json];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the delay proxy did not start within 10 s')), 10_000);
    child.stdout.once('data', () => (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`the delay proxy exited ${code}`))));
  });
  return { ready, stop: () => child.kill('SIGTERM') };
}

function bitsOf(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)(k|m|g)bit$/.exec(rate);
  return m === null ? NaN : Number(m[1]) * { k: 1e3, m: 1e6, g: 1e9 }[m[2] as 'k' | 'm' | 'g'];
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
