#pragma once
// A oneDNN f32 matmul bound to fixed buffers: dst (M, N) = src (M, K) · Wᵀ [+ bias]
// [→ eltwise] [+ dst]. W is PyTorch's Linear layout (N, K); it is reordered once into the
// layout the primitive prefers and shared between batch sizes.
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

namespace swinscope::cpu {

enum class Epilogue { None, Gelu, Relu };

class LinearWeights {
 public:
  LinearWeights(const float* weight, const float* bias, int N, int K) : m_weight(weight), m_bias(bias), m_N(N), m_K(K) {}
  int N() const { return m_N; }
  int K() const { return m_K; }
  const float* bias() const { return m_bias; }
  // The weights in `md`'s layout, reordered on first request.
  dnnl::memory& in_layout(const dnnl::memory::desc& md, dnnl::engine& eng, dnnl::stream& strm);

 private:
  const float* m_weight;
  const float* m_bias;
  int m_N, m_K;
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> m_layouts;
};

class BoundGemm {
 public:
  BoundGemm(dnnl::engine& eng, dnnl::stream& strm, LinearWeights& w, int M, const float* src, float* dst,
            Epilogue epilogue, bool accumulate);
  void execute(dnnl::stream& strm) { m_prim.execute(strm, m_args); }
  std::string describe() const;

 private:
  dnnl::matmul m_prim;
  std::unordered_map<int, dnnl::memory> m_args;
  std::string m_impl;
};

}  // namespace swinscope::cpu
