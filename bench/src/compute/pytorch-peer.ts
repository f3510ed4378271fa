import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** bench/dist/compute/ -> bench/peers/ */
const SCRIPT = fileURLToPath(new URL('../../peers/pytorch_compute.py', import.meta.url));

export interface PytorchResult {
  framework: 'pytorch';
  model: string;
  batch?: number;
  msPerStep?: number;
  stepMs?: number[];
  torchVersion?: string;
  blas?: string;
  threads?: number;
  error?: string;
}

/** How the peer's torch was built and which BLAS it runs on (bench/peers/pytorch_compute.py build_config). */
export interface PytorchBuild {
  torchVersion: string;
  /** torch.__config__.show(), verbatim. */
  torchConfig: string;
  /** BLAS_INFO of that configuration (what torch was built against), if it names one. */
  blasInfo: string | null;
  /** The BLAS libraries mapped into the Python process, as mapped and resolved through Debian's alternatives. */
  blasLoaded: { mapped: string; resolved: string }[];
  /** Debian's reference (netlib) BLAS: unoptimized, so PyTorch's times are no fair anchor. */
  referenceBlas: boolean;
  openblasCoretype: string | null;
  openblasL2Size: string | null;
}

/**
 * A long-lived `pytorch_compute.py --serve`: one Python start (importing torch takes
 * seconds) serves every measurement, so ours and PyTorch's can alternate.
 */
export class PytorchPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  private readonly stderr: string[] = [];
  private exited: string | undefined;
  /** Set from the peer's ready line. */
  build: PytorchBuild | undefined;

  private constructor(python: string) {
    // One thread for every pool torch may use, so it runs on one core as ours does.
    const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    this.child = spawn(python, [SCRIPT, '--serve', '--threads', '1'], { env });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    this.child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.child.on('exit', (code, signal) => {
      this.exited = `python exited (${code ?? signal}): ${this.stderr.join('').trim().split('\n').slice(-3).join(' | ')}`;
      for (const resolve of this.pending.splice(0)) resolve(JSON.stringify({ error: this.exited }));
    });
    this.child.on('error', (error) => {
      this.exited = `cannot run ${python}: ${error.message}`;
      for (const resolve of this.pending.splice(0)) resolve(JSON.stringify({ error: this.exited }));
    });
  }

  private nextLine(): Promise<string> {
    if (this.exited !== undefined) return Promise.resolve(JSON.stringify({ error: this.exited }));
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Starts the peer; resolves to an error message instead when torch cannot be loaded. */
  static async start(python: string): Promise<PytorchPeer | string> {
    if (!existsSync(SCRIPT)) return `missing ${SCRIPT}`;
    const peer = new PytorchPeer(python);
    const ready = JSON.parse(await peer.nextLine()) as { ready?: boolean; error?: string; build?: PytorchBuild };
    if (ready.ready !== true) {
      peer.close();
      return ready.error ?? 'the PyTorch peer did not start';
    }
    peer.build = ready.build;
    return peer;
  }

  async measure(model: string, batch: number, steps: number, warmup: number): Promise<PytorchResult> {
    const line = this.nextLine();
    this.child.stdin.write(`${JSON.stringify({ model, batch, steps, warmup })}\n`);
    const answer = JSON.parse(await line) as Partial<PytorchResult>;
    return { ...answer, model: answer.model ?? model, framework: 'pytorch' };
  }

  /** GFLOP/s of a size^3 product through torch's BLAS on the peer's one thread; undefined if it failed. */
  async matmulPeak(size: number): Promise<number | undefined> {
    const line = this.nextLine();
    this.child.stdin.write(`${JSON.stringify({ peakMatmul: size })}\n`);
    const answer = JSON.parse(await line) as { gflopsPerSec?: number };
    return answer.gflopsPerSec;
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
  }
}
