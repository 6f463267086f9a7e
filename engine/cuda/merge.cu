#include "engine/cuda/merge.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void merge_ln_quant_kernel(const float* x, std::int8_t* out, int batch, int H, int C, const float* gamma,
                                      const float* beta, float eps, float inv_scale) {
  const int Ho = H / 2;
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= static_cast<long long>(batch) * Ho * Ho) return;
  const int b = static_cast<int>(r / (Ho * Ho)), i = static_cast<int>(r % (Ho * Ho)) / Ho, j = static_cast<int>(r % Ho);
  auto at = [=](int k) { return merge_gather_at(x, b, i, j, H, C, k); };
  warp_ln_quant(at, 4 * C, gamma, beta, eps, inv_scale, out + r * 4 * C, static_cast<int>(threadIdx.x % kWarp));
}

__global__ void dequantize_rows_kernel(const std::int32_t* acc, float* x, long long n, int N, const float* scale,
                                       int per_channel) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  x[i] = static_cast<float>(acc[i]) * scale[per_channel ? i % N : 0];
}

void merge_ln_quant(const float* x, std::int8_t* out, int batch, int H, int C, const float* gamma, const float* beta,
                    float eps, float inv_scale, cudaStream_t stream) {
  const long long rows = static_cast<long long>(batch) * (H / 2) * (H / 2);
  SWS_LAUNCH(merge_ln_quant_kernel, grid_for(rows, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream, x, out, batch, H, C,
             gamma, beta, eps, inv_scale);
}

void dequantize_rows(const std::int32_t* acc, float* x, long long rows, int N, const float* scale, bool per_channel,
                     cudaStream_t stream) {
  const long long n = rows * N;
  SWS_LAUNCH(dequantize_rows_kernel, grid_for(n, 256), 256, 0, stream, acc, x, n, N, scale, per_channel ? 1 : 0);
}

}  // namespace swinscope::SWS_CUDA_NS
