#include "engine/cuda/fc1_relu_quant.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void fc1_relu_quant_kernel(const std::int32_t* acc, std::int8_t* out, long long n, int hidden,
                                      const float* alpha, int per_channel) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float a = alpha[per_channel ? i % hidden : 0];
  out[i] = static_cast<std::int8_t>(numerics::q_gemm_relu_u8(static_cast<float>(acc[i]) * a) - numerics::kZeroPoint);
}

void fc1_relu_quant(const std::int32_t* acc, std::int8_t* out, long long rows, int hidden, const float* alpha,
                    bool per_channel, cudaStream_t stream) {
  const long long n = rows * hidden;
  SWS_LAUNCH(fc1_relu_quant_kernel, grid_for(n, 256), 256, 0, stream, acc, out, n, hidden, alpha, per_channel ? 1 : 0);
}

}  // namespace swinscope::SWS_CUDA_NS
