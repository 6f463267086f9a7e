#include "engine/cpu/int8_gemm.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace swinscope::cpu {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

bool int8_gemm_needs_7bit_weights() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2_vnni:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return false;
    default:
      return true;
  }
}

Int8LinearWeights::Int8LinearWeights(const std::int8_t* weight, const float* scale, int scale_count, int N, int K,
                                     bool seven_bit)
    : m_N(N), m_K(K), m_seven_bit(seven_bit) {
  if (scale_count != 1 && scale_count != N)
    throw Error("int8 linear: " + std::to_string(scale_count) + " weight scales for " + std::to_string(N) +
                " output channels (expected 1 or " + std::to_string(N) + ")");
  m_values.assign(weight, weight + static_cast<std::size_t>(N) * K);
  m_scales.assign(scale, scale + scale_count);
  if (seven_bit) {
    for (auto& v : m_values) v = static_cast<std::int8_t>(std::nearbyint(static_cast<float>(v) * 0.5f));
    for (auto& s : m_scales) s *= 2.f;
  }
}

dnnl::memory& Int8LinearWeights::in_layout(const memory::desc& md, dnnl::engine& eng, dnnl::stream& strm) {
  for (auto& [d, m] : m_layouts)
    if (d == md) return m;
  memory user({{m_K, m_N}, dt::s8, tag::ba}, eng, m_values.data());
  memory mine(md, eng);
  dnnl::reorder(user, mine).execute(strm, user, mine);
  strm.wait();
  m_layouts.emplace_back(md, mine);
  return m_layouts.back().second;
}

int int8_src_zero_point(Int8Src s) { return s == Int8Src::Shifted ? 128 : 0; }

std::vector<float> int8_output_scales(const Int8LinearWeights& w, float src_scale, Int8Dst dst, float dst_scale) {
  std::vector<float> out(w.per_channel() ? static_cast<std::size_t>(w.N()) : 1);
  for (std::size_t n = 0; n < out.size(); ++n) {
    const float s = src_scale * w.scale(static_cast<int>(n));
    out[n] = dst == Int8Dst::F32 ? s : s / dst_scale;
  }
  return out;
}

BoundInt8Gemm::BoundInt8Gemm(dnnl::engine& eng, dnnl::stream& strm, Int8LinearWeights& w, int M, const Int8GemmIo& io) {
  const dt dst_dt = io.dst_kind == Int8Dst::S8 ? dt::s8 : (io.dst_kind == Int8Dst::U8Relu ? dt::u8 : dt::f32);
  const memory::desc src_md({M, w.K()}, dt::u8, tag::ab);
  const memory::desc wei_md({w.K(), w.N()}, dt::s8, tag::any);
  const memory::desc dst_md({M, w.N()}, dst_dt, tag::ab);
  dnnl::primitive_attr attr;
  const auto scales = int8_output_scales(w, io.src_scale, io.dst_kind, io.dst_scale);
  attr.set_output_scales(w.per_channel() ? (1 << 1) : 0, scales);
  if (io.src_kind == Int8Src::Shifted) attr.set_zero_points(DNNL_ARG_SRC, 0, {int8_src_zero_point(io.src_kind)});
  if (io.dst_kind == Int8Dst::U8Relu) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_md, dst_md), attr, eng);
  m_prim = dnnl::matmul(pd);
  m_args[DNNL_ARG_SRC] = memory(src_md, eng, const_cast<std::uint8_t*>(io.src));
  m_args[DNNL_ARG_WEIGHTS] = w.in_layout(pd.weights_desc(), eng, strm);
  m_args[DNNL_ARG_DST] = memory(dst_md, eng, io.dst);
  m_desc = "oneDNN matmul ";
  m_desc += io.src_kind == Int8Src::Shifted ? "u8 (zero point 128)" : "u8";
  m_desc += " x s8";
  m_desc += w.seven_bit() ? " (7-bit: no VNNI)" : "";
  m_desc += io.dst_kind == Int8Dst::S8 ? " -> s8" : (io.dst_kind == Int8Dst::U8Relu ? " -> relu -> u8" : " -> f32");
  m_desc += w.per_channel() ? ", per-channel scales" : ", per-tensor scale";
  m_desc += " (" + std::string(pd.impl_info_str()) + ")";
}

std::string BoundInt8Gemm::describe() const { return m_desc; }

void int8_gemm_reference(const std::uint8_t* src, Int8Src src_kind, const Int8LinearWeights& w, int M,
                         const std::vector<float>& output_scales, Int8Dst dst_kind, void* dst) {
  const int N = w.N(), K = w.K();
  const int zp = int8_src_zero_point(src_kind);
  const auto& W = w.values();
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      std::int32_t acc = 0;
      for (int k = 0; k < K; ++k)
        acc += (static_cast<std::int32_t>(src[static_cast<std::size_t>(m) * K + k]) - zp) *
               W[static_cast<std::size_t>(n) * K + k];
      const float v = static_cast<float>(acc) * output_scales[output_scales.size() == 1 ? 0 : static_cast<std::size_t>(n)];
      const std::size_t o = static_cast<std::size_t>(m) * N + n;
      switch (dst_kind) {
        case Int8Dst::F32: static_cast<float*>(dst)[o] = v; break;
        case Int8Dst::S8:
          static_cast<std::int8_t*>(dst)[o] = static_cast<std::int8_t>(std::clamp(std::nearbyint(v), -128.f, 127.f));
          break;
        case Int8Dst::U8Relu:
          static_cast<std::uint8_t*>(dst)[o] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(std::max(v, 0.f)), 0.f, 255.f));
          break;
      }
    }
}

}  // namespace swinscope::cpu
