#include "engine/cuda/verify.cuh"

#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {

namespace {

constexpr int kBlocks = 512, kThreads = 256;

// The counter lives in device memory for the call (plan build only, never captured).
struct Counter {
  unsigned long long* p = nullptr;
  explicit Counter(cudaStream_t stream) {
    SWS_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), sizeof *p));
    if (const cudaError_t e = cudaMemsetAsync(p, 0, sizeof *p, stream); e != cudaSuccess) {
      cudaFree(p);
      SWS_CUDA_CHECK(e);
    }
  }
  ~Counter() { cudaFree(p); }
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;
  long long read(cudaStream_t stream) const {
    unsigned long long h = 0;
    SWS_CUDA_CHECK(cudaMemcpyAsync(&h, p, sizeof h, cudaMemcpyDeviceToHost, stream));
    SWS_CUDA_CHECK(cudaStreamSynchronize(stream));
    return static_cast<long long>(h);
  }
};

}  // namespace

__global__ void count_s8_mismatches_kernel(const std::int8_t* a, bool a_u8, const std::int8_t* b, std::size_t n, int tol,
                                           unsigned long long* count) {
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const int av = a_u8 ? static_cast<int>(static_cast<std::uint8_t>(a[i])) - numerics::kZeroPoint : static_cast<int>(a[i]);
    const int d = av - static_cast<int>(b[i]);
    local += (d > tol || d < -tol) ? 1ull : 0ull;
  }
  if (local) atomicAdd(count, local);
}

__global__ void count_s32_mismatches_kernel(const std::int32_t* a, const std::int32_t* b, std::size_t n,
                                            unsigned long long* count) {
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    local += a[i] != b[i] ? 1ull : 0ull;
  if (local) atomicAdd(count, local);
}

long long count_s8_mismatches(const std::int8_t* a, bool a_u8, const std::int8_t* b, std::size_t n, int tol,
                              cudaStream_t stream) {
  Counter c(stream);
  SWS_LAUNCH(count_s8_mismatches_kernel, kBlocks, kThreads, 0, stream, a, a_u8, b, n, tol, c.p);
  return c.read(stream);
}

long long count_s32_mismatches(const std::int32_t* a, const std::int32_t* b, std::size_t n, cudaStream_t stream) {
  Counter c(stream);
  SWS_LAUNCH(count_s32_mismatches_kernel, kBlocks, kThreads, 0, stream, a, b, n, c.p);
  return c.read(stream);
}

}  // namespace swinscope::SWS_CUDA_NS
