/**
 * bench/compute: samples/s of one training step of each zoo model on each available
 * backend, as JSON lines; with --vs pytorch the same models in PyTorch on one thread,
 * measured in alternation with ours so both see the same load.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '@tfjs-ddp/backend';
import { profileStep } from './kernel-profile.js';
import { parseOptions, type ComputeOptions } from './options.js';
import { PytorchPeer, type PytorchBuild } from './pytorch-peer.js';
import { tfjsMatmulPeak, trainingStepFlops } from './model-flops.js';
import { median, quantile, stepRunner, timeSteps } from './tfjs-step.js';

function emit(record: object): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Median step time and its spread: the 10th and 90th percentiles, and the median of each round (rounds alternate with PyTorch's). */
function summary(stepMs: number[], batch: number, rounds: number) {
  const ms = median(stepMs);
  const perRound = Math.max(1, Math.floor(stepMs.length / rounds));
  const roundMedians = Array.from({ length: rounds }, (_, r) => round2(median(stepMs.slice(r * perRound, (r + 1) * perRound))));
  return {
    msPerStep: round2(ms),
    minMsPerStep: round2(Math.min(...stepMs)),
    p10MsPerStep: round2(quantile(stepMs, 0.1)),
    p90MsPerStep: round2(quantile(stepMs, 0.9)),
    roundMedians,
    samplesPerSec: round2((batch * 1000) / ms),
  };
}

async function benchBackend(backend: BackendName, options: ComputeOptions, peer: PytorchPeer | undefined): Promise<void> {
  const isCpu = backend === 'cpu';
  const batch = isCpu ? options.cpuBatch : options.batch;
  const steps = isCpu ? options.cpuSteps : options.steps;
  const warmup = isCpu ? 1 : options.warmup;
  const rounds = isCpu ? 1 : options.rounds;
  for (const model of options.models) {
    const runner = await stepRunner(model, batch);
    const ours: number[] = [];
    const theirs: number[] = [];
    let tensorLeak = 0;
    let pytorch: Awaited<ReturnType<PytorchPeer['measure']>> | undefined;
    for (let round = 0; round < rounds; round++) {
      const times = timeSteps(runner, steps, round === 0 ? warmup : 1);
      ours.push(...times.stepMs);
      tensorLeak += times.tensorLeak;
      if (peer !== undefined && !isCpu) {
        pytorch = await peer.measure(model, batch, steps, round === 0 ? warmup : 1);
        theirs.push(...(pytorch.stepMs ?? []));
      }
    }
    const oursSummary = summary(ours, batch, rounds);
    const flopsPerStep = trainingStepFlops(runner.model, batch);
    const gflops = (msPerStep: number): number => round2(flopsPerStep / (msPerStep / 1000) / 1e9);
    emit({
      bench: 'compute', framework: 'tfjs', backend, tfBackend: tf.getBackend(), model, batch, steps: ours.length, ...oursSummary, tensorLeak,
      ...(isCpu ? { note: `cpu: batch ${batch} and ${ours.length} steps only (the pure-JS backend runs about 5 samples/s)` } : {}),
    });
    if (pytorch !== undefined) {
      if (pytorch.error !== undefined || theirs.length === 0) {
        emit({ bench: 'compute', framework: 'pytorch', model, batch, error: pytorch.error ?? 'no steps measured' });
      } else {
        const theirSummary = summary(theirs, batch, rounds);
        emit({
          bench: 'compute', framework: 'pytorch', model, batch, steps: theirs.length, ...theirSummary,
          threads: pytorch.threads, torchVersion: pytorch.torchVersion, blas: pytorch.blas, referenceBlas: peer?.build?.referenceBlas,
        });
        emit({
          bench: 'compute-vs-pytorch', model, backend, batch,
          samplesPerSec: { ours: oursSummary.samplesPerSec, pytorch: theirSummary.samplesPerSec },
          msPerStep: { ours: oursSummary.msPerStep, pytorch: theirSummary.msPerStep },
          /** Ours over PyTorch's samples/s, from median and from fastest steps: the goal is >= 0.5. */
          ratio: round2(theirSummary.msPerStep / oursSummary.msPerStep),
          ratioOfFastest: round2(theirSummary.minMsPerStep / oursSummary.minMsPerStep),
          // A ratio against PyTorch on the reference BLAS flatters ours: say so on the line that is quoted.
          pytorchReferenceBlas: peer?.build?.referenceBlas,
        });
      }
    }
    if (!isCpu) {
      // The distance to the limit: FLOPs of the step's products over its time, against the best a large product reaches here.
      const peak = { ours: round2(tfjsMatmulPeak(tf, 1024, 3)), ...(peer === undefined ? {} : { pytorch: (await peer.matmulPeak(1024)) ?? null }) };
      emit({
        bench: 'compute-roofline', model, backend, batch, flopsPerStep,
        gflopsPerSec: { ours: gflops(oursSummary.msPerStep), ...(theirs.length > 0 ? { pytorch: gflops(median(theirs)) } : {}) },
        matmulPeakGflopsPerSec: peak,
        oursOfPeak: round2(gflops(oursSummary.msPerStep) / Math.max(peak.ours, peak.pytorch ?? 0)),
        note: 'FLOPs of dense and convolution products only (forward, weight and input gradients); peak: best 1024^3 product on one thread',
      });
    }
    if (options.profile) emit({ bench: 'compute-profile', backend, model, batch, ...(await profileStep(runner)) });
    runner.dispose();
    if (options.bnCost && backend === 'wasm') {
      // Loaded only when asked: it needs the per-channel BN ops of @tfjs-ddp/backend.
      const { bnCost } = await import('./bn-cost.js');
      const cost = await bnCost(model, batch, steps);
      if (cost !== undefined) emit(cost);
    }
  }
}

const FAIR_ANCHOR = 'for a fair anchor: apt-get install libopenblas0-pthread, then run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (see README)';

/**
 * Records PyTorch's build and the BLAS it really loaded, and says plainly when that is
 * Debian's reference BLAS: Debian's python3-torch runs on whatever libblas.so.3 the
 * alternatives system points at, and the unoptimized reference one makes PyTorch look
 * several times slower than it is.
 */
function reportBuild(build: PytorchBuild | undefined): void {
  if (build === undefined) {
    emit({ bench: 'compute-pytorch-build', error: 'the peer did not report its build' });
    return;
  }
  const blas = build.blasLoaded.map((b) => b.resolved).join(', ') || 'none loaded';
  const warning = build.referenceBlas
    ? `PyTorch runs on the reference BLAS (${blas}), not an optimized one: its times are no fair anchor; ${FAIR_ANCHOR}`
    : undefined;
  emit({ bench: 'compute-pytorch-build', ...build, referenceBlas: build.referenceBlas, ...(warning === undefined ? {} : { warning }) });
  if (warning !== undefined) process.stderr.write(`bench compute: ${warning}\n`);
  else process.stderr.write(`bench compute: PyTorch ${build.torchVersion} on BLAS ${blas} (built with ${build.blasInfo ?? 'unknown BLAS_INFO'})\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let peer: PytorchPeer | undefined;
  if (options.vsPytorch) {
    const started = await PytorchPeer.start(options.python);
    if (typeof started === 'string') emit({ bench: 'compute', framework: 'pytorch', error: started });
    else {
      peer = started;
      reportBuild(peer.build);
    }
  }
  try {
    for (const backend of options.backends) {
      try {
        const info = await initBackend(backend);
        emit({ bench: 'compute-backend', backend, available: true, tfBackend: info.tfBackend, addedKernels: info.addedKernels });
      } catch (error) {
        emit({ bench: 'compute-backend', backend, available: false, reason: error instanceof Error ? error.message : String(error) });
        continue;
      }
      await benchBackend(backend, options, peer);
    }
  } finally {
    peer?.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
