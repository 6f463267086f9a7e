#pragma once
// Pieces shared by the kernel labs (bench/kernels/*_lab.cu; README.md there): device buffers,
// deterministic fills, output comparison, check counting, and the L2-flushed median timer.
// Built by nvcc for a GPU, or by the host compiler under device emulation (SWINSCOPE_CUDA_EMU;
// bench/kernels/CMakeLists.txt), where CI runs each lab small to prove its checks and its
// bookkeeping before a GPU's time is spent on it.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/cuda/platform.cuh"

namespace lab {

using namespace swinscope;
using namespace swinscope::SWS_CUDA_NS;

inline int g_failed = 0;

inline void fail(const std::string& what) {
  ++g_failed;
  std::printf("  CHECK FAILED: %s\n", what.c_str());
}

__device__ __forceinline__ std::uint32_t hash32(std::uint64_t i, std::uint32_t seed) {
  std::uint64_t x = i * 0x9E3779B97F4A7C15ull + seed;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<std::uint32_t>(x >> 16);
}
static __global__ void fill_bytes(std::uint8_t* p, std::size_t n, std::uint32_t seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    p[i] = static_cast<std::uint8_t>(hash32(i, seed));
}
template <typename T>
__global__ void count_diff(const T* a, const T* b, std::size_t n, unsigned long long* count, int* max_abs) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    if (a[i] != b[i]) {
      atomicAdd(count, 1ull);
      const long long d = static_cast<long long>(a[i]) - static_cast<long long>(b[i]);
      atomicMax(max_abs, static_cast<int>(d < 0 ? -d : d > 0x7fffffff ? 0x7fffffff : d));
    }
}

template <typename T>
struct Buf {
  T* p = nullptr;
  std::size_t n = 0;
  explicit Buf(std::size_t count) : n(count) { SWS_CUDA_CHECK(cudaMalloc(&p, std::max<std::size_t>(n, 1) * sizeof(T))); }
  ~Buf() { cudaFree(p); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  std::size_t bytes() const { return n * sizeof(T); }
};

inline void fill(void* p, std::size_t bytes, std::uint32_t seed) {
  SWS_LAUNCH(fill_bytes, 1024, 256, 0, nullptr, static_cast<std::uint8_t*>(p), bytes, seed);
}

template <typename T>
std::pair<unsigned long long, int> diff(const T* a, const T* b, std::size_t n) {
  Buf<unsigned long long> c(1);
  Buf<int> m(1);
  SWS_CUDA_CHECK(cudaMemset(c.p, 0, 8));
  SWS_CUDA_CHECK(cudaMemset(m.p, 0, 4));
  constexpr auto count_diff_t = count_diff<T>;
  SWS_LAUNCH(count_diff_t, 1024, 256, 0, nullptr, a, b, n, c.p, m.p);
  unsigned long long hc = 0;
  int hm = 0;
  SWS_CUDA_CHECK(cudaMemcpy(&hc, c.p, 8, cudaMemcpyDeviceToHost));
  SWS_CUDA_CHECK(cudaMemcpy(&hm, m.p, 4, cudaMemcpyDeviceToHost));
  return {hc, hm};
}

struct Timer {
  Buf<std::uint8_t> flush{std::size_t{256} << 20};
  cudaEvent_t a, b;
  int runs;
  explicit Timer(int r) : runs(r) {
    SWS_CUDA_CHECK(cudaEventCreate(&a));
    SWS_CUDA_CHECK(cudaEventCreate(&b));
  }
  ~Timer() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
  // Median milliseconds of `op` over `runs` launches, each after an L2 flush.
  double median_ms(const std::function<void()>& op) {
    op();  // warm-up (module load, cuBLASLt heuristics already done)
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<float> ms(static_cast<std::size_t>(runs));
    for (auto& m : ms) {
      SWS_CUDA_CHECK(cudaMemsetAsync(flush.p, 0, flush.bytes()));
      SWS_CUDA_CHECK(cudaEventRecord(a));
      op();
      SWS_CUDA_CHECK(cudaEventRecord(b));
      SWS_CUDA_CHECK(cudaEventSynchronize(b));
      SWS_CUDA_CHECK(cudaEventElapsedTime(&m, a, b));
    }
    std::nth_element(ms.begin(), ms.begin() + static_cast<long>(ms.size() / 2), ms.end());
    return ms[ms.size() / 2];
  }
};

// The labs' command line: --runs N (50), --batch B (128), --stage S (all), and --gemm NAME where
// `with_gemm`; prints `usage` and exits 2 on anything else.
struct LabArgs {
  int runs = 50, batch = 128, stage = -1;
  std::string gemm;
};
inline LabArgs parse_lab_args(int argc, char** argv, bool with_gemm, const char* usage) {
  LabArgs a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--runs") a.runs = std::max(1, std::atoi(next().c_str()));
    else if (arg == "--batch") a.batch = std::max(1, std::atoi(next().c_str()));
    else if (arg == "--stage") a.stage = std::atoi(next().c_str());
    else if (with_gemm && arg == "--gemm") a.gemm = next();
    else {
      std::fprintf(stderr, "usage: %s %s\n", argv[0], usage);
      std::exit(2);
    }
  }
  return a;
}

}  // namespace lab
