#pragma once
// Output comparisons on the device, for choices made at plan build: a kernel is only chosen
// for a shape (--gemm tune) after its output on that shape has matched cuBLASLt's.
#include <cstddef>
#include <cstdint>

#include "engine/cuda/platform.cuh"

namespace swinscope::SWS_CUDA_NS {

// How many of n elements differ by more than `tol`: a[i] (s8, or u8 read as u − 128 when a_u8)
// against b[i] (s8). Synchronizes `stream`.
long long count_s8_mismatches(const std::int8_t* a, bool a_u8, const std::int8_t* b, std::size_t n, int tol,
                              cudaStream_t stream);
// How many of n s32 elements differ at all. Synchronizes `stream`.
long long count_s32_mismatches(const std::int32_t* a, const std::int32_t* b, std::size_t n, cudaStream_t stream);

}  // namespace swinscope::SWS_CUDA_NS
