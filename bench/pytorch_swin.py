#!/usr/bin/python3
"""PyTorch side of SwinScope's FP32 CPU benchmark: torchvision's swin_t (random weights,
eval, no_grad) timed end to end on a random (batch, 3, 224, 224) input.

Prints one JSON object:
  {"impl": "pytorch", "torch": ..., "arch": ..., "batch": ..., "threads": ..., "median_ms": ...,
   "images_per_s": ..., "runs_ms": [...], "blas": ..., "blas_library": ...}

Usage: bench/pytorch_swin.py --batch 8 --threads 2 --runs 7 --warmup 2 --arch swin_t
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

ARCHS = ("swin_t", "swin_s", "swin_b")


def parse_args():
    ap = argparse.ArgumentParser(description="torchvision SWIN FP32 CPU latency")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--arch", default="swin_t", choices=ARCHS)
    ap.add_argument("--img-size", type=int, default=224)
    args = ap.parse_args()
    if args.batch < 1 or args.threads < 1 or args.runs < 1 or args.warmup < 0:
        ap.error("--batch, --threads and --runs must be >= 1, --warmup >= 0")
    return args


def blas_summary(torch):
    """The build's BLAS line from torch.__config__.show(), and the BLAS library actually
    mapped into this process: Debian's torch is built against the generic libblas.so.3,
    which the alternatives system points at OpenBLAS or the reference BLAS."""
    show = torch.__config__.show()
    build = ", ".join(re.findall(r"\b(?:BLAS|LAPACK)_INFO=[^,\s]+", show)) or "unknown"
    mapped = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if ("blas" in base or "mkl_rt" in base or "dnnl" in base) and path not in mapped:
                    mapped.append(path)
    except OSError:
        pass
    # The generic libblas.so.3 first: that is the name torch links, the rest is what it resolves to.
    mapped.sort(key=lambda p: (os.path.basename(p) != "libblas.so.3", p))
    return build, mapped


def main():
    args = parse_args()
    # OpenBLAS (pthread build) sizes its own pool from these at load time; torch.set_num_threads
    # only steers OpenMP/oneDNN. Pin both to --threads before torch loads the library.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch
    import torchvision

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.arch)(weights=None).eval()
    x = torch.randn(args.batch, 3, args.img_size, args.img_size)

    runs_ms = []
    with torch.no_grad():
        for i in range(args.warmup + args.runs):
            t0 = time.perf_counter()
            logits = model(x)
            dt = (time.perf_counter() - t0) * 1e3
            if i >= args.warmup:
                runs_ms.append(dt)
    if not torch.isfinite(logits).all():
        sys.exit("non-finite logits: the timing would not mean anything")

    build, mapped = blas_summary(torch)
    median = statistics.median(runs_ms)
    print(json.dumps({
        "impl": "pytorch",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "arch": args.arch,
        "batch": args.batch,
        "img_size": args.img_size,
        "threads": torch.get_num_threads(),
        "warmup": args.warmup,
        "median_ms": round(median, 3),
        "images_per_s": round(args.batch * 1e3 / median, 2),
        "runs_ms": [round(r, 3) for r in runs_ms],
        "blas": build,
        "blas_library": [os.path.realpath(p) for p in mapped],
    }))


if __name__ == "__main__":
    main()
