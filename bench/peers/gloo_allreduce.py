#!/usr/bin/env python3
"""All-reduce with torch.distributed's gloo backend over loopback, for comparison with
bench/allreduce. Prints one JSON line per (ranks, bytes) with the same fields:
{transport, algorithm, ranks, bytes, algbw, busbw, p50_ms, p99_ms}; bandwidths in GB/s.

  /usr/bin/python3 bench/peers/gloo_allreduce.py --ranks 2,4 --sizes 4096,16777216

Timing: rank 0 times every all_reduce call on its own (no barrier in between), after
warm-up calls; as in bench/allreduce, the p50 time gives algbw = bytes / time and
busbw = algbw * 2 (P - 1) / P (the nccl-tests convention). cpu_ms_per_op: user + system CPU
time of every rank (all threads, getrusage) over the timed calls, summed, per call.
"""
import argparse
import json
import os
import resource
import socket
import sys
import time


def iterations(nbytes):
    # Enough calls for a stable median, bounded in time on a 2-core machine.
    return max(20, min(200, int(512 * 1024 * 1024 / max(nbytes, 1))))


def worker(rank, world, port, sizes, queue):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    for nbytes in sizes:
        n = nbytes // 4
        t = torch.ones(n, dtype=torch.float32)
        iters = iterations(nbytes)
        for _ in range(max(5, iters // 5)):
            dist.all_reduce(t)
        times = []
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(iters):
            start = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - start)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_ms = (cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime) * 1e3 / iters
        queue.put(("cpu", nbytes, cpu_ms))
        if rank == 0:
            times.sort()
            p50 = times[len(times) // 2]
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            algbw = nbytes / p50 / 1e9
            queue.put(("line", nbytes, {
                "transport": "gloo",
                "algorithm": "gloo",
                "ranks": world,
                "bytes": nbytes,
                "algbw": round(algbw, 4),
                "busbw": round(algbw * 2 * (world - 1) / world, 4),
                "p50_ms": round(p50 * 1e3, 4),
                "p99_ms": round(p99 * 1e3, 4),
            }))
    dist.barrier()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", default="2")
    parser.add_argument("--sizes", default="4096")
    args = parser.parse_args()
    import torch.multiprocessing as mp

    sizes = [int(s) for s in args.sizes.split(",")]
    for world in [int(r) for r in args.ranks.split(",")]:
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        port = free_port()
        procs = [ctx.Process(target=worker, args=(r, world, port, sizes, queue)) for r in range(world)]
        for p in procs:
            p.start()
        # Every rank reports its CPU per call, rank 0 the line; a size is printed once all arrived.
        lines, cpu = {}, {}
        for _ in range(len(sizes) * (world + 1)):
            kind, nbytes, value = queue.get(timeout=600)
            if kind == "line":
                lines[nbytes] = value
            else:
                cpu.setdefault(nbytes, []).append(value)
        for nbytes in sizes:
            line = lines[nbytes]
            line["cpu_ms_per_op"] = round(sum(cpu[nbytes]), 4)
            print(json.dumps(line), flush=True)
        for p in procs:
            p.join(timeout=60)
            if p.exitcode != 0:
                print(f"gloo rank exited with {p.exitcode}", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
