#include "engine/cuda/patch_embed.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void patch_im2col_kernel(const float* input, float* cols, int batch, int in_chans, int img, int patch) {
  const int P = img / patch, K = in_chans * patch * patch;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(batch) * P * P * K) return;
  const int k = static_cast<int>(i % K);
  const long long row = i / K;
  const int b = static_cast<int>(row / (P * P)), py = static_cast<int>(row % (P * P)) / P, px = static_cast<int>(row % P);
  const int c = k / (patch * patch), ky = (k / patch) % patch, kx = k % patch;
  cols[i] = input[((static_cast<long long>(b) * in_chans + c) * img + py * patch + ky) * img + px * patch + kx];
}

__global__ void bias_layernorm_rows_kernel(const float* x, float* y, long long rows, int C, const float* bias,
                                           const float* gamma, const float* beta, float eps) {
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  const float* xr = x + r * C;
  float* yr = y + r * C;
  // Each lane writes only the channels it read, so y may alias x.
  warp_ln([=](int c) { return bias ? xr[c] + bias[c] : xr[c]; }, [=](int c, float v) { yr[c] = v; }, C, gamma, beta, eps, lane);
}

void patch_im2col(const float* input, float* cols, int batch, int in_chans, int img, int patch, cudaStream_t stream) {
  const int P = img / patch;
  const long long n = static_cast<long long>(batch) * P * P * in_chans * patch * patch;
  SWS_LAUNCH(patch_im2col_kernel, grid_for(n, 256), 256, 0, stream, input, cols, batch, in_chans, img, patch);
}

void bias_layernorm_rows(const float* x, float* y, long long rows, int C, const float* bias, const float* gamma,
                         const float* beta, float eps, cudaStream_t stream) {
  SWS_LAUNCH(bias_layernorm_rows_kernel, grid_for(rows, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream, x, y, rows, C,
             bias, gamma, beta, eps);
}

}  // namespace swinscope::SWS_CUDA_NS
