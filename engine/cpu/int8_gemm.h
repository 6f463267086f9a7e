#pragma once
// oneDNN int8 matmul bound to fixed buffers, for the int8 SWIN plan:
//   dst (M, N) = requantize( (src (M, K) − zero_point) · Wᵀ ),  s32 accumulation,
// with the output scales (and, for fc1 in the GELU-less model, ReLU) applied inside the
// primitive. W is PyTorch's Linear layout (N, K), s8.
//
// Activations always enter as u8. Measured on this project's AVX2 machine (no VNNI;
// bench/int8_gemm_micro.cpp), oneDNN's u8·s8 matmul is markedly faster than s8·s8, which
// oneDNN itself implements by shifting the source to u8 first. So signed activations are
// stored shifted (u8 = q + 128) and the primitive subtracts the zero point 128; ReLU and
// softmax outputs are naturally u8 (zero point 0).
//
// Without VNNI, x86 multiplies u8·s8 with vpmaddubsw, which adds two products into a
// *saturating* int16: 255·127·2 = 64770 > 32767, so full-range operands give wrong sums
// (measured: ~10% of outputs off on random data). oneDNN's own int8 convolutions avoid
// this by halving the weights on such CPUs; the plan does the same here: weights are
// re-rounded to [−64, 64] with twice the scale (255·64·2 = 32640 fits). On VNNI CPUs
// (vpdpbusd accumulates in int32) the file's 8-bit weights are used as they are.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace swinscope::cpu {

// True when oneDNN's int8 GEMM on this CPU sums u8·s8 pairs in saturating int16.
bool int8_gemm_needs_7bit_weights();

class Int8LinearWeights {
 public:
  // weight: (N, K) s8; scale: `scale_count` floats, 1 (per tensor) or N (per output channel).
  // seven_bit: re-round to [−64, 64] (round half to even) with the scale doubled.
  Int8LinearWeights(const std::int8_t* weight, const float* scale, int scale_count, int N, int K, bool seven_bit);
  int N() const { return m_N; }
  int K() const { return m_K; }
  bool seven_bit() const { return m_seven_bit; }
  bool per_channel() const { return m_scales.size() > 1; }
  const std::vector<std::int8_t>& values() const { return m_values; }  // (N, K), as the GEMM uses them
  float scale(int n) const { return m_scales.size() == 1 ? m_scales[0] : m_scales[static_cast<std::size_t>(n)]; }
  // The weights in `md`'s layout, reordered on first request and shared between batch sizes.
  dnnl::memory& in_layout(const dnnl::memory::desc& md, dnnl::engine& eng, dnnl::stream& strm);

 private:
  std::vector<std::int8_t> m_values;  // (N, K)
  std::vector<float> m_scales;        // (1) or (N)
  int m_N = 0, m_K = 0;
  bool m_seven_bit = false;
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> m_layouts;
};

enum class Int8Src {
  Shifted,   // u8 = q + 128 of a signed tensor: zero point 128
  Unsigned,  // u8 = q of a non-negative tensor (ReLU output): zero point 0
};

enum class Int8Dst {
  S8,      // q = clamp(round(acc · src_scale · w_scale / dst_scale), −128, 127)
  U8Relu,  // ReLU post-op, then u8 with dst_scale = amax / 255
  F32,     // dequantized: acc · src_scale · w_scale
};

int int8_src_zero_point(Int8Src s);

struct Int8GemmIo {
  const std::uint8_t* src = nullptr;  // (M, K)
  Int8Src src_kind = Int8Src::Shifted;
  float src_scale = 1.f;
  void* dst = nullptr;  // (M, N): std::int8_t, std::uint8_t or float per dst_kind
  Int8Dst dst_kind = Int8Dst::S8;
  float dst_scale = 1.f;  // ignored for F32
};

// The per-output-channel multipliers the primitive applies to the s32 accumulator.
std::vector<float> int8_output_scales(const Int8LinearWeights& w, float src_scale, Int8Dst dst, float dst_scale);

class BoundInt8Gemm {
 public:
  BoundInt8Gemm(dnnl::engine& eng, dnnl::stream& strm, Int8LinearWeights& w, int M, const Int8GemmIo& io);
  void execute(dnnl::stream& strm) { m_prim.execute(strm, m_args); }
  std::string describe() const;

 private:
  dnnl::matmul m_prim;
  std::unordered_map<int, dnnl::memory> m_args;
  std::string m_desc;
};

// The same operation as a plain integer loop (the bit-exact reference for the tests):
// int32 accumulation, float(acc) · scale, round half to even, saturate.
void int8_gemm_reference(const std::uint8_t* src, Int8Src src_kind, const Int8LinearWeights& w, int M,
                         const std::vector<float>& output_scales, Int8Dst dst_kind, void* dst);

}  // namespace swinscope::cpu
