#include "engine/cuda/proj_residual_ln2_quant.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void proj_residual_ln2_quant_kernel(const std::int8_t* proj, float* x, std::int8_t* out, Geo g,
                                               const float* bias, float deq, const float* gamma, const float* beta,
                                               float eps, float inv_scale) {
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;  // window order
  if (r >= g.nwin() * g.tokens()) return;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  const long long tok = numerics::source_token(r / g.tokens(), static_cast<int>(r % g.tokens()), g.H, g.window, g.shift);
  float* xr = x + tok * g.C;
  const std::int8_t* a = proj + r * g.C;
  for (int c = lane; c < g.C; c += kWarp) xr[c] += static_cast<float>(a[c]) * deq + bias[c];
  __syncwarp();  // the LayerNorm reads every lane's updated channels
  warp_ln_quant([xr](int k) { return xr[k]; }, g.C, gamma, beta, eps, inv_scale, out + tok * g.C, lane);
}

void proj_residual_ln2_quant(const std::int8_t* proj, float* x, std::int8_t* out, const Geo& g, const float* bias,
                             float deq, const float* gamma, const float* beta, float eps, float inv_scale,
                             cudaStream_t stream) {
  SWS_LAUNCH(proj_residual_ln2_quant_kernel, grid_for(g.nwin() * g.tokens(), kRowsPerBlock), kRowsPerBlock * kWarp, 0,
             stream, proj, x, out, g, bias, deq, gamma, beta, eps, inv_scale);
}

}  // namespace swinscope::SWS_CUDA_NS
