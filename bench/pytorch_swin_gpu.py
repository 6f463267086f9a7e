#!/usr/bin/env python3
"""PyTorch side of SwinScope's GPU latency benchmark (bench/gpu_latency.sh): torchvision's
swin_t / swin_s / swin_b with random weights, eval, inference_mode, FP16, on the GPU — eager
and torch.compile — timed with CUDA events: median of --runs after --warmup.

Prints one JSON object per (arch, batch, mode) line:
  {"impl": "pytorch", "mode": "fp16-eager"|"fp16-compile", "arch", "batch", "median_ms", "images_per_s",
   "torch", "gpu"}
Usage: bench/pytorch_swin_gpu.py --arch swin_t --batch 1 8 128 --modes eager compile --runs 100
"""
import argparse
import json
import statistics

import torch
import torchvision


def time_model(fn, x, runs, warmup):
    for _ in range(warmup):
        fn(x)
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn(x)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="swin_t", choices=("swin_t", "swin_s", "swin_b"))
    ap.add_argument("--batch", type=int, nargs="+", default=[128])
    ap.add_argument("--modes", nargs="+", default=["eager"], choices=("eager", "compile"))
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.arch)(weights=None).eval().cuda().half()
    for mode in args.modes:
        fn = torch.compile(model) if mode == "compile" else model
        for batch in args.batch:
            x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.half)
            with torch.inference_mode():
                ms = time_model(fn, x, args.runs, args.warmup)
            print(json.dumps({"impl": "pytorch", "mode": "fp16-" + mode, "arch": args.arch, "batch": batch,
                              "median_ms": round(ms, 4), "images_per_s": round(batch * 1000.0 / ms, 1),
                              "torch": torch.__version__, "gpu": torch.cuda.get_device_name()}), flush=True)


if __name__ == "__main__":
    main()
