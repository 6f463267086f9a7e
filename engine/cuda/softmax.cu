#include "engine/cuda/softmax.cuh"

#include <cmath>

namespace swinscope::SWS_CUDA_NS {

__global__ void softmax_quant_kernel(const std::int32_t* scores, std::int8_t* probs, Geo g, const float* rel_bias,
                                     const float* mask, float deq, float inv_scale) {
  const int N = g.tokens(), Np = g.Np();
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;  // (wh, i)
  if (r >= g.nwh() * N) return;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  const int i = static_cast<int>(r % N);
  const long long wh = r / N;
  const int h = static_cast<int>(wh % g.heads);
  const long long win = wh / g.heads;
  const float* brow = rel_bias + (static_cast<long long>(h) * N + i) * Np;
  const float* mrow = mask ? mask + (static_cast<long long>(win % g.windows()) * N + i) * Np : nullptr;
  const std::int32_t* srow = scores + r * Np;
  auto logit = [&](int j) { return static_cast<float>(srow[j]) * deq + brow[j] + (mrow ? mrow[j] : 0.f); };
  float mx = -INFINITY;
  for (int j = lane; j < N; j += kWarp) mx = fmaxf(mx, logit(j));
  mx = warp_max(mx);
  float sum = 0.f;
  for (int j = lane; j < N; j += kWarp) sum += numerics::exp_f(logit(j) - mx);
  const float inv = inv_scale / warp_sum(sum);
  std::int8_t* p = probs + r * Np;
  for (int j = lane; j < Np; j += kWarp)
    p[j] = static_cast<std::int8_t>((j < N ? numerics::q_unsigned(numerics::exp_f(logit(j) - mx) * inv) : 0) -
                                    numerics::kZeroPoint);
}

void softmax_quant(const std::int32_t* scores, std::int8_t* probs, const Geo& g, const float* rel_bias, const float* mask,
                   float deq, float inv_scale, cudaStream_t stream) {
  SWS_LAUNCH(softmax_quant_kernel, grid_for(g.nwh() * g.tokens(), kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream, scores,
             probs, g, rel_bias, mask, deq, inv_scale);
}

}  // namespace swinscope::SWS_CUDA_NS
