#include "engine/cpu/dnnl_gemm.h"

namespace swinscope::cpu {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::memory& LinearWeights::in_layout(const memory::desc& md, dnnl::engine& eng, dnnl::stream& strm) {
  for (auto& [d, m] : m_layouts)
    if (d == md) return m;
  memory user({{m_K, m_N}, dt::f32, tag::ba}, eng, const_cast<float*>(m_weight));
  memory mine(md, eng);
  dnnl::reorder(user, mine).execute(strm, user, mine);
  strm.wait();
  m_layouts.emplace_back(md, mine);
  return m_layouts.back().second;
}

BoundGemm::BoundGemm(dnnl::engine& eng, dnnl::stream& strm, LinearWeights& w, int M, const float* src, float* dst,
                     Epilogue epilogue, bool accumulate) {
  const memory::desc src_md({M, w.K()}, dt::f32, tag::ab);
  const memory::desc wei_md({w.K(), w.N()}, dt::f32, tag::any);
  const memory::desc dst_md({M, w.N()}, dt::f32, tag::ab);
  const memory::desc bias_md({1, w.N()}, dt::f32, tag::ab);
  dnnl::post_ops po;
  if (epilogue == Epilogue::Gelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (epilogue == Epilogue::Relu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (accumulate) po.append_sum(1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  const auto desc = w.bias() ? dnnl::matmul::desc(src_md, wei_md, bias_md, dst_md) : dnnl::matmul::desc(src_md, wei_md, dst_md);
  const dnnl::matmul::primitive_desc pd(desc, attr, eng);
  m_prim = dnnl::matmul(pd);
  m_impl = pd.impl_info_str();
  m_args[DNNL_ARG_SRC] = memory(src_md, eng, const_cast<float*>(src));
  m_args[DNNL_ARG_WEIGHTS] = w.in_layout(pd.weights_desc(), eng, strm);
  m_args[DNNL_ARG_DST] = memory(dst_md, eng, dst);
  if (w.bias()) m_args[DNNL_ARG_BIAS] = memory(bias_md, eng, const_cast<float*>(w.bias()));
}

std::string BoundGemm::describe() const { return "oneDNN matmul f32 (" + m_impl + ")"; }

}  // namespace swinscope::cpu
