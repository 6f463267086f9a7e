#include "engine/cuda/head.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void mean_pool_kernel(const float* ln, float* pooled, int batch, int L, int F) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(batch) * F) return;
  const int b = static_cast<int>(i / F), c = static_cast<int>(i % F);
  float s = 0.f;
  for (int t = 0; t < L; ++t) s += ln[(static_cast<long long>(b) * L + t) * F + c];
  pooled[i] = s / static_cast<float>(L);
}

__global__ void add_bias_rows_kernel(float* y, long long n, int N, const float* bias) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += bias[i % N];
}

void mean_pool(const float* ln, float* pooled, int batch, int L, int F, cudaStream_t stream) {
  SWS_LAUNCH(mean_pool_kernel, grid_for(static_cast<long long>(batch) * F, 128), 128, 0, stream, ln, pooled, batch, L, F);
}

void add_bias_rows(float* y, long long rows, int N, const float* bias, cudaStream_t stream) {
  SWS_LAUNCH(add_bias_rows_kernel, grid_for(rows * N, 256), 256, 0, stream, y, rows * N, N, bias);
}

}  // namespace swinscope::SWS_CUDA_NS
