"""The zoo models of @tfjs-ddp/nn in PyTorch, timed the way bench/compute times ours.

One training step = forward, cross-entropy summed over the batch, backward, SGD update,
on one CPU thread. Prints one JSON line per measurement.

  /usr/bin/python3 bench/peers/pytorch_compute.py --models cnn-bn --batch 64
  ... --serve     reads JSON requests {"model", "batch", "steps", "warmup"} from stdin,
                  one a line, and answers each with a result line (bench/compute uses
                  this to alternate with its own measurements under the same load);
                  {"peakMatmul": N} answers the GFLOP/s of an N x N x N product instead
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# Keras/tfjs BatchNormalization: epsilon 1e-3, moving-average momentum 0.99 (= torch 0.01).
def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Cnn(nn.Module):
    """conv16-BN-relu-pool-[drop]-conv32-BN-relu-pool-[drop]-dense64-dense10 (zoo `cnn`)."""

    def __init__(self, dropout):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(1, 16, 3, padding=1, bias=False), bn(16)
        self.c2, self.b2 = nn.Conv2d(16, 32, 3, padding=1, bias=False), bn(32)
        self.d1, self.d2 = nn.Linear(7 * 7 * 32, 64), nn.Linear(64, 10)
        self.dropout = dropout

    def forward(self, x):
        for c, b in ((self.c1, self.b1), (self.c2, self.b2)):
            x = F.max_pool2d(F.relu(b(c(x))), 2)
            if self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
        return self.d2(F.relu(self.d1(torch.flatten(x, 1))))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), bn(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), bn(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet8(nn.Module):
    """conv16-BN-relu, one basic block per stage (16, 32, 64), global average pool, dense (zoo `resnet`)."""

    def __init__(self):
        super().__init__()
        self.c, self.b = nn.Conv2d(1, 16, 3, padding=1, bias=False), bn(16)
        self.blocks = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.b(self.c(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


MODELS = {
    "mlp": Mlp,
    "cnn-bn": lambda: Cnn(0.0),
    "cnn-bn-dropout": lambda: Cnn(0.25),
    "resnet": ResNet8,
}


# Debian installs BLAS implementations as alternatives of libblas.so.3; the reference
# (netlib) one lives in .../blas/, OpenBLAS in .../openblas-pthread/ (libopenblas*),
# BLIS in .../blis-*/. The reference BLAS is unoptimized: on it PyTorch's matrix products
# are several times slower than on OpenBLAS, which makes it an unfair anchor.
REFERENCE_BLAS_DIRS = ("/blas/",)


def loaded_blas():
    """Every BLAS-like library mapped into this process: (as mapped, resolved) pairs."""
    found = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) < 6 or not fields[-1].startswith("/"):
                    continue
                name = os.path.basename(fields[-1]).lower()
                if ("blas" in name or "mkl" in name or "blis" in name) and fields[-1] not in (f[0] for f in found):
                    found.append((fields[-1], os.path.realpath(fields[-1])))
    except OSError:
        pass
    return found


def build_config():
    """How this torch was built and which BLAS it actually runs on (recorded beside every result)."""
    show = torch.__config__.show()
    blas_info = None
    for line in show.splitlines():
        for part in line.replace(",", " ").split():
            if part.startswith("BLAS_INFO="):
                blas_info = part.split("=", 1)[1]
    loaded = loaded_blas()
    resolved = [real for _, real in loaded]
    reference = any(any(d in real for d in REFERENCE_BLAS_DIRS) and os.path.basename(real).startswith("libblas.so") for real in resolved)
    return {
        "torchVersion": torch.__version__,
        "torchConfig": show,
        "blasInfo": blas_info,
        "blasLoaded": [{"mapped": mapped, "resolved": real} for mapped, real in loaded],
        "referenceBlas": reference,
        "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE"),
        "openblasL2Size": os.environ.get("OPENBLAS_L2_SIZE"),
    }


def blas_library():
    """The BLAS this process loaded, resolved through Debian's alternatives links."""
    loaded = loaded_blas()
    return ", ".join(real for _, real in loaded) if loaded else "none loaded"


_steps = {}


def training_step(name, batch):
    """A closure running one training step; built once per (model, batch)."""
    key = (name, batch)
    if key not in _steps:
        torch.manual_seed(1)
        model = MODELS[name]()
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.rand(batch, 1, 28, 28)
        y = torch.arange(batch) % 10

        def step():
            opt.zero_grad(set_to_none=True)
            # Summed over the batch as the tfjs replica's loss is (the mean differs by a scale only).
            loss = F.cross_entropy(model(x), y, reduction="sum")
            loss.backward()
            opt.step()

        _steps[key] = step
    return _steps[key]


def measure(name, batch, steps, warmup):
    step = training_step(name, batch)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    return {
        "framework": "pytorch",
        "torchVersion": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "model": name,
        "batch": batch,
        "steps": steps,
        "msPerStep": round(median * 1000, 3),
        "minMsPerStep": round(times[0] * 1000, 3),
        "stepMs": [round(t * 1000, 3) for t in times],
        "samplesPerSec": round(batch / median, 1),
    }


def matmul_peak(size, repeats):
    """GFLOP/s of the best of `repeats` size^3 float32 products: this core's practical limit through torch's BLAS."""
    a = torch.rand(size, size)
    b = torch.rand(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return {"framework": "pytorch", "matmulSize": size, "gflopsPerSec": round(2 * size ** 3 / best / 1e9, 2), "blas": blas_library()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.serve:
        # A first product, so that the BLAS is loaded before /proc/self/maps is read.
        torch.rand(8, 8) @ torch.rand(8, 8)
        print(json.dumps({"ready": True, "build": build_config()}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            try:
                if "peakMatmul" in request:
                    result = matmul_peak(request["peakMatmul"], request.get("repeats", 5))
                else:
                    result = measure(request["model"], request["batch"], request["steps"], request.get("warmup", 3))
            except (KeyError, RuntimeError) as error:
                result = {"framework": "pytorch", "model": request.get("model"), "error": repr(error)}
            print(json.dumps(result), flush=True)
        return
    torch.rand(8, 8) @ torch.rand(8, 8)
    print(json.dumps({"framework": "pytorch", "build": build_config()}), flush=True)
    for name in args.models.split(","):
        print(json.dumps(measure(name, args.batch, args.steps, args.warmup)), flush=True)


if __name__ == "__main__":
    main()
