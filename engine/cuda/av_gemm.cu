#include "engine/cuda/av_gemm.cuh"

#include "engine/error.h"

namespace swinscope::SWS_CUDA_NS {

__global__ void av_requant_kernel(const std::int32_t* ctx_acc, const std::int8_t* vt, std::int8_t* ctx, Geo g,
                                  float requant) {
  __shared__ int colsum[kMaxHeadDim];
  const long long wh = blockIdx.x;
  const int N = g.tokens(), Np = g.Np(), d = g.head_dim(), d4 = g.d4();
  for (int e = static_cast<int>(threadIdx.x); e < d; e += static_cast<int>(blockDim.x)) {
    const std::int8_t* row = vt + (wh * d4 + e) * Np;
    int s = 0;
    for (int j = 0; j < Np; ++j) s += row[j];
    colsum[e] = s;
  }
  __syncthreads();
  const long long win = wh / g.heads;
  const int h = static_cast<int>(wh % g.heads);
  for (int idx = static_cast<int>(threadIdx.x); idx < N * d; idx += static_cast<int>(blockDim.x)) {
    const int i = idx / d, e = idx % d;
    const int acc = ctx_acc[(wh * N + i) * d4 + e] + numerics::kZeroPoint * colsum[e];
    ctx[(win * N + i) * g.C + h * d + e] = static_cast<std::int8_t>(numerics::q_signed(static_cast<float>(acc) * requant));
  }
}

void av_requant(const std::int32_t* ctx_acc, const std::int8_t* vt, std::int8_t* ctx, const Geo& g, float requant,
                cudaStream_t stream) {
  if (g.head_dim() > kMaxHeadDim)
    throw Error("av_requant: head dimension " + std::to_string(g.head_dim()) + " above " + std::to_string(kMaxHeadDim));
  SWS_LAUNCH(av_requant_kernel, static_cast<unsigned>(g.nwh()), 128, 0, stream, ctx_acc, vt, ctx, g, requant);
}

}  // namespace swinscope::SWS_CUDA_NS
