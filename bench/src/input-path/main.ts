import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BackendName } from '@tfjs-ddp/backend';
import { encodeNpy, loadNpyDataset, mulberry32, NpyFileDataset, type Dataset } from '@tfjs-ddp/data';
import { emit, intList, parseFlags } from '../common/args.js';
import { cachedBytes, evictFromPageCache } from './page-cache.js';

/**
 * bench/input-path: what `batch()` costs on the input path of training, for shuffled
 * global batches: (a) an in-memory data set (loadNpyDataset), (b) the same samples
 * streamed from disk (NpyFileDataset) with the file in the page cache, and (c) with the
 * file evicted from it first (python3's posix_fadvise; skipped without python3). The big
 * file (28x28 uint8 samples, --gib of them) is streamed only: loaded it would take 4x its
 * size as float32. The in-memory baseline, and a warm streamed run on the same file, use
 * a --baseline-mib slice written alongside, so each ratio compares like with like in one
 * run. Prints one JSON line per (source, batch) and a summary with the process's peak RSS
 * after streaming (before anything is loaded), the streamed fingerprint's time (what a
 * worker pays at startup) and one cnn-bn training step at batch 64 for scale. The files
 * are deleted at the end unless --keep.
 *
 *   node bench/dist/input-path/main.js [--gib 2] [--baseline-mib 256] [--batches 64,256] [--seconds 3] [--dir /tmp] [--keep]
 *     [--backend wasm] [--no-step] [--no-fingerprint]
 */
const flags = parseFlags(process.argv.slice(2));
const gib = Number(flags.get('gib') ?? 2);
const baselineMib = Number(flags.get('baseline-mib') ?? 256);
const batches = intList(flags.get('batches') ?? '64,256');
const seconds = Number(flags.get('seconds') ?? 3);
const backend = (flags.get('backend') ?? 'wasm') as BackendName;
const SHAPE = [28, 28] as const;
const SAMPLE_BYTES = SHAPE[0] * SHAPE[1];
const MB = 1e6;

/** Writes `n` random uint8 samples and their labels as .npy files, 16 MiB at a time (the file never sits in memory). */
function writeFiles(dir: string, name: string, n: number): { images: string; labels: string; fileBytes: number } {
  const images = path.join(dir, `${name}-x.npy`);
  const labels = path.join(dir, `${name}-y.npy`);
  const fd = openSync(images, 'w');
  try {
    const header = encodeNpy(new Uint8Array(0), [n, ...SHAPE]);
    writeSync(fd, header);
    const chunk = new Uint8Array(16 * 1024 * 1024);
    for (let left = n * SAMPLE_BYTES; left > 0; left -= chunk.byteLength) {
      const part = chunk.subarray(0, Math.min(left, chunk.byteLength));
      randomFillSync(part);
      writeSync(fd, part);
    }
    closeSync(fd);
    const y = Int32Array.from({ length: n }, (_, i) => i % 10);
    const labelFd = openSync(labels, 'w');
    writeSync(labelFd, encodeNpy(y, [n]));
    closeSync(labelFd);
    return { images, labels, fileBytes: header.byteLength + n * SAMPLE_BYTES };
  } catch (error) {
    rmSync(images, { force: true });
    throw error;
  }
}

interface Rate {
  batch: number;
  batches: number;
  samplesPerSec: number;
  /** Float32 bytes handed to training per second. */
  deliveredMBps: number;
  /** Bytes of the images file behind them per second (uint8: a quarter of the delivered bytes). */
  fileMBps: number;
  msPerBatch: number;
}

/** batch() of `batch` uniformly random indices, for about `budget` seconds (at most `maxBatches`). */
function measure(dataset: Dataset, batch: number, budget: number, seed: number, maxBatches = Infinity): Rate {
  const random = mulberry32(seed);
  const indices = new Int32Array(batch);
  let done = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < budget * 1000 && done < maxBatches) {
    for (let i = 0; i < batch; i++) indices[i] = Math.floor(random() * dataset.size);
    dataset.batch(indices);
    done++;
    elapsed = performance.now() - started;
  }
  const samplesPerSec = (done * batch) / (elapsed / 1000);
  return {
    batch,
    batches: done,
    samplesPerSec: Math.round(samplesPerSec),
    deliveredMBps: Math.round((samplesPerSec * SAMPLE_BYTES * 4) / MB),
    fileMBps: Math.round((samplesPerSec * SAMPLE_BYTES) / MB),
    msPerBatch: Number((elapsed / done).toFixed(3)),
  };
}

const dir = mkdtempSync(path.join(flags.get('dir') ?? tmpdir(), 'bench-input-path-'));
try {
  const big = writeFiles(dir, 'big', Math.floor((gib * 2 ** 30) / SAMPLE_BYTES));
  const streamed = NpyFileDataset.open(big);
  const base = { bench: 'input-path', shape: [...SHAPE, 1], dtype: 'uint8' };
  const records: Array<Rate & { source: string; fileBytes: number }> = [];
  const record = (source: string, fileBytes: number, rate: Rate, extra: Record<string, unknown> = {}): void => {
    records.push({ source, fileBytes, ...rate });
    emit({ ...base, source, fileBytes, ...rate, ...extra });
  };

  // (c) cold: each batch's reads go to the disk (as far as the kernel's read-ahead lets them).
  for (const batch of batches) {
    if (!evictFromPageCache(big.images)) break;
    const before = cachedBytes(big.images);
    record('streamed-cold', big.fileBytes, measure(streamed, batch, seconds, 1), { cachedBytesBefore: before });
  }
  // The fingerprint reads the whole file once: a worker's startup cost, and it warms the cache for (b).
  let fingerprintSec: number | undefined;
  if (!flags.has('no-fingerprint')) {
    const started = performance.now();
    streamed.fingerprint();
    fingerprintSec = Number(((performance.now() - started) / 1000).toFixed(1));
  }
  const cachedWarm = cachedBytes(big.images);
  // (b) warm: the page cache holds the file (cachedBytes says how much).
  for (const batch of batches) record('streamed-warm', big.fileBytes, measure(streamed, batch, seconds, 2), { cachedBytes: cachedWarm });
  // Peak RSS so far covers streaming only: nothing has been loaded yet.
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;

  // (a) in memory, and streamed from the same smaller file, for ratios on equal terms.
  const small = writeFiles(dir, 'baseline', Math.floor((baselineMib * 2 ** 20) / SAMPLE_BYTES));
  const smallStreamed = NpyFileDataset.open(small);
  const loaded = loadNpyDataset(small);
  for (const batch of batches) {
    const memory = measure(loaded, batch, seconds, 3);
    record('in-memory', small.fileBytes, memory);
    const warm = measure(smallStreamed, batch, seconds, 3);
    record('streamed-warm-baseline-file', small.fileBytes, warm, { ratioVsInMemory: Number((warm.samplesPerSec / memory.samplesPerSec).toFixed(3)) });
    for (const r of records.filter((x) => x.batch === batch && x.source.startsWith('streamed') && x.fileBytes === big.fileBytes)) {
      emit({ ...base, source: `${r.source}-vs-in-memory`, batch, ratioVsInMemory: Number((r.samplesPerSec / memory.samplesPerSec).toFixed(3)) });
    }
  }

  let stepMs: number | undefined;
  if (!flags.has('no-step')) {
    // Loaded only now: tfjs and its wasm would otherwise count in the streaming run's RSS.
    const { initBackend } = await import('@tfjs-ddp/backend');
    const { median, stepRunner, timeSteps } = await import('../compute/tfjs-step.js');
    await initBackend(backend);
    const runner = await stepRunner('cnn-bn', 64);
    stepMs = Number(median(timeSteps(runner, 8, 2).stepMs).toFixed(1));
    runner.dispose();
  }
  const streamed64 = records.filter((r) => r.batch === 64 && r.source.startsWith('streamed') && r.fileBytes === big.fileBytes);
  const slowestMs64 = Math.max(...streamed64.map((r) => r.msPerBatch));
  emit({
    bench: 'input-path-summary',
    fileBytes: big.fileBytes,
    samples: streamed.size,
    inMemoryFloat32Bytes: streamed.size * SAMPLE_BYTES * 4,
    peakRssBytes,
    peakRssShareOfFile: Number((peakRssBytes / big.fileBytes).toFixed(3)),
    fingerprintSec,
    ...(stepMs === undefined ? {} : {
      backend,
      cnnBnStepMsAtBatch64: stepMs,
      // batch() runs inside the rank's step: the slowest streamed batch of 64 as a share of one training step of 64.
      slowestStreamedBatch64Ms: slowestMs64,
      inputShareOfStep: Number((slowestMs64 / stepMs).toFixed(3)),
    }),
  });
} finally {
  if (!flags.has('keep')) rmSync(dir, { recursive: true, force: true });
}
