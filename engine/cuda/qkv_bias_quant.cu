#include "engine/cuda/qkv_bias_quant.cuh"

namespace swinscope::SWS_CUDA_NS {

__global__ void qkv_bias_quant_kernel(const std::int8_t* qkv, std::int8_t* q, std::int8_t* k, std::int8_t* vt, Geo g,
                                      const float* bias, float deq, float inv_q, float inv_k, float inv_v) {
  const int Np = g.Np(), d = g.head_dim(), d4 = g.d4(), N = g.tokens();
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;  // (wh, t, e), e fastest
  if (i >= g.nwh() * Np * d4) return;
  const int e = static_cast<int>(i % d4);
  const int t = static_cast<int>((i / d4) % Np);
  const long long wh = i / (static_cast<long long>(d4) * Np);
  const long long win = wh / g.heads;
  const int h = static_cast<int>(wh % g.heads);
  std::int8_t vq = 0, vk = 0, vv = 0;
  if (t < N && e < d) {
    const std::int8_t* in = qkv + (win * N + t) * 3 * g.C;
    const int c = h * d + e;
    vq = static_cast<std::int8_t>(numerics::q_signed((static_cast<float>(in[c]) * deq + bias[c]) * inv_q));
    vk = static_cast<std::int8_t>(numerics::q_signed((static_cast<float>(in[g.C + c]) * deq + bias[g.C + c]) * inv_k));
    vv = static_cast<std::int8_t>(numerics::q_signed((static_cast<float>(in[2 * g.C + c]) * deq + bias[2 * g.C + c]) * inv_v));
  }
  q[(wh * Np + t) * d4 + e] = vq;
  k[(wh * Np + t) * d4 + e] = vk;
  vt[(wh * d4 + e) * Np + t] = vv;
}

void qkv_bias_quant(const std::int8_t* qkv, std::int8_t* q, std::int8_t* k, std::int8_t* vt, const Geo& g,
                    const float* bias, float deq, const float inv_scale[3], cudaStream_t stream) {
  SWS_LAUNCH(qkv_bias_quant_kernel, grid_for(g.nwh() * g.Np() * g.d4(), 256), 256, 0, stream, qkv, q, k, vt, g, bias, deq,
             inv_scale[0], inv_scale[1], inv_scale[2]);
}

}  // namespace swinscope::SWS_CUDA_NS
