#include "engine/cuda/fc1_bias_gelu_quant.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void fc1_bias_gelu_quant_kernel(const std::int8_t* h, std::int8_t* out, long long n, int hidden,
                                           const float* bias, float deq, float inv_scale) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float v = static_cast<float>(h[i]) * deq + (bias ? bias[i % hidden] : 0.f);
  out[i] = static_cast<std::int8_t>(numerics::q_signed(numerics::gelu_erf(v) * inv_scale));
}

void fc1_bias_gelu_quant(const std::int8_t* h, std::int8_t* out, long long rows, int hidden, const float* bias, float deq,
                         float inv_scale, cudaStream_t stream) {
  const long long n = rows * hidden;
  SWS_LAUNCH(fc1_bias_gelu_quant_kernel, grid_for(n, 256), 256, 0, stream, h, out, n, hidden, bias, deq, inv_scale);
}

}  // namespace swinscope::SWS_CUDA_NS
