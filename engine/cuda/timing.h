#pragma once
// Timing on a CUDA stream for choices made at plan build (issue 13: own GEMM or cuBLASLt, and
// which tile, per shape). Under device emulation the same code measures the host's emulated
// run: the mechanism is exercised, the figures mean nothing about a GPU.
#include <functional>

#include "engine/cuda/platform.cuh"

namespace swinscope::SWS_CUDA_NS {

// Median milliseconds of `enqueue` on `stream`: `warmup` untimed runs, then `runs` runs, each
// bracketed by CUDA events and waited for. Throws Error on a CUDA failure.
float median_ms(cudaStream_t stream, const std::function<void()>& enqueue, int warmup, int runs);

}  // namespace swinscope::SWS_CUDA_NS
