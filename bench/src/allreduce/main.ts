/**
 * All-reduce benchmark: prints one JSON line per (transport, algorithm, ranks, size):
 * {transport, algorithm, ranks, bytes, algbw, busbw, p50_ms, p99_ms}, bandwidths in GB/s,
 * algbw = bytes / p50 time, busbw = algbw * 2(P-1)/P (nccl-tests); processes and gloo lines
 * add cpu_ms_per_op, the CPU time of all ranks per call (steadier than wall time on a shared
 * machine, and what bounds it when ranks outnumber cores). With --vs gloo,
 * torch.distributed gloo runs right after, on the same machine, sizes and ranks.
 *
 *   node bench/dist/allreduce/main.js --ranks 2,4 --sizes 4KB..64MB --transport threads,processes --vs gloo
 */
import type { AllReduceAlgorithm } from '@tfjs-ddp/collective';
import { benchGloo } from './gloo.js';
import { parseOptions } from './options.js';
import { benchProcesses } from './process-bench.js';
import type { BenchLine } from './result.js';
import { benchThreads } from './thread-bench.js';

const options = parseOptions(process.argv.slice(2));
const emit = (line: BenchLine): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

for (const ranks of options.ranks) {
  for (const transport of options.transports) {
    if (transport === 'threads') {
      await benchThreads(ranks, options.sizes, false, options.iters, emit);
      await benchThreads(ranks, options.sizes, true, options.iters, emit);
    } else {
      const facade = transport === 'processes-facade';
      for (const algorithm of options.algorithms) {
        await benchProcesses(ranks, options.sizes, algorithm as AllReduceAlgorithm, options.segmentBytes, facade, false, options.iters, emit);
        // The facade's rank thread works in the thread group's wasm memory already.
        if (!facade) await benchProcesses(ranks, options.sizes, algorithm as AllReduceAlgorithm, options.segmentBytes, false, true, options.iters, emit);
      }
    }
  }
}
if (options.vsGloo) await benchGloo(options.python, options.ranks, options.sizes, emit);
