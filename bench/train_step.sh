#!/usr/bin/env bash
# Training throughput of swinscope-cli train / distill on this CPU (bench/train_step.cpp):
# the window-attention products through oneDNN vs libtorch's bmm (paired, forward + backward
# at batch 64's shapes), and whole AdamW steps of the bundled model's config at batch
# 32 / 64 / 128 (interleaved rounds, medians).
#   bench/train_step.sh [CONFIG.json=assets/fmnist_swin.json]
# Needs a release build with libtorch (cmake --preset release && cmake --build --preset release).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-assets/fmnist_swin.json}
build=${SWINSCOPE_BUILD:-build/release}
[[ -f $build/distill_cli/libswinscope_torch.a ]] || { echo "no $build/distill_cli/libswinscope_torch.a: build the release preset with libtorch first" >&2; exit 2; }
source bench/cuda_libs.sh  # a build with the CUDA backend needs the CUDA runtime too
set_cuda_libs "$build"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -O2 -std=c++20 -I. -isystem /usr/include/torch/csrc/api/include bench/train_step.cpp \
  "$build/distill_cli/libswinscope_torch.a" "$build/engine/libswinscope_engine.a" \
  -ltorch -ltorch_cpu -lc10 -ldnnl -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -lz -lgomp -lpthread \
  "${cuda_libs[@]}" -o "$out/train_step"
echo "load before: $(uptime)"
"$out/train_step" "$config"
echo "load after: $(uptime)"
