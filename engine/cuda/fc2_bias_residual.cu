#include "engine/cuda/fc2_bias_residual.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void fc2_bias_residual_kernel(const std::int8_t* y, float* x, long long n, int C, const float* bias,
                                         float deq) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  x[i] += static_cast<float>(y[i]) * deq + bias[i % C];
}

__global__ void fc2_bias_residual_from_acc_kernel(const std::int32_t* acc, const std::int32_t* rowsum,
                                                  const float* alpha, int per_channel, float* x, long long n, int C,
                                                  const float* bias, float deq) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int c = static_cast<int>(i % C);
  const int full = acc[i] + numerics::kZeroPoint * rowsum[c];
  const int y = numerics::q_gemm_s8(static_cast<float>(full) * alpha[per_channel ? c : 0]);
  x[i] += static_cast<float>(y) * deq + bias[c];
}

void fc2_bias_residual(const std::int8_t* y, float* x, long long rows, int C, const float* bias, float deq,
                       cudaStream_t stream) {
  const long long n = rows * C;
  SWS_LAUNCH(fc2_bias_residual_kernel, grid_for(n, 256), 256, 0, stream, y, x, n, C, bias, deq);
}

void fc2_bias_residual_from_acc(const std::int32_t* acc, const std::int32_t* rowsum, const float* alpha,
                                bool per_channel, float* x, long long rows, int C, const float* bias, float deq,
                                cudaStream_t stream) {
  const long long n = rows * C;
  SWS_LAUNCH(fc2_bias_residual_from_acc_kernel, grid_for(n, 256), 256, 0, stream, acc, rowsum, alpha,
             per_channel ? 1 : 0, x, n, C, bias, deq);
}

}  // namespace swinscope::SWS_CUDA_NS
