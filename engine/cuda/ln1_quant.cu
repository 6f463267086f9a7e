#include "engine/cuda/ln1_quant.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void ln1_quant_kernel(const float* x, std::int8_t* out, Geo g, const float* gamma, const float* beta,
                                 float eps, float inv_scale) {
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= g.nwin() * g.tokens()) return;  // whole warps leave together
  const long long win = r / g.tokens();
  const int t = static_cast<int>(r % g.tokens());
  const float* src = x + numerics::source_token(win, t, g.H, g.window, g.shift) * g.C;
  warp_ln_quant([src](int k) { return src[k]; }, g.C, gamma, beta, eps, inv_scale, out + r * g.C, static_cast<int>(threadIdx.x % kWarp));
}

void ln1_quant(const float* x, std::int8_t* out, const Geo& g, const float* gamma, const float* beta, float eps,
               float inv_scale, cudaStream_t stream) {
  SWS_LAUNCH(ln1_quant_kernel, grid_for(g.nwin() * g.tokens(), kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream, x, out,
             g, gamma, beta, eps, inv_scale);
}

}  // namespace swinscope::SWS_CUDA_NS
