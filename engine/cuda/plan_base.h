#pragma once
// What every CUDA plan shares: its stream, its device allocations, its cuBLASLt runner, pinned
// staging for input and logits, and run(): copy in, then either replay the forward's CUDA
// graph for that batch size (captured on the first unrecorded run) or, for recorded and
// ablation runs, enqueue it stage by stage so each span brackets its own kernels; copy out.
// A plan implements prepare() (the GEMM descriptors of a batch size) and forward().
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <type_traits>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cuda/buffers.h"
#include "engine/cuda/gemm.h"
#include "engine/cuda/head.cuh"
#include "engine/cuda/patch_embed.cuh"
#include "engine/error.h"
#include "engine/model.h"
#include "engine/plan.h"
#include "engine/stages.h"

namespace swinscope::SWS_CUDA_NS {

struct StreamDeleter {
  void operator()(cudaStream_t s) const noexcept { cudaStreamDestroy(s); }
};
struct GraphExecDeleter {
  void operator()(cudaGraphExec_t g) const noexcept { cudaGraphExecDestroy(g); }
};
using StreamPtr = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDeleter>;
using GraphExecPtr = std::unique_ptr<std::remove_pointer_t<cudaGraphExec_t>, GraphExecDeleter>;

class CudaPlanBase : public Plan {
 public:
  CudaPlanBase(const SwinConfig& cfg, int max_batch) : m_cfg(cfg), m_max_batch(max_batch) {
    if (max_batch <= 0) throw Error("plan: max_batch must be positive");
    cudaStream_t s = nullptr;
    SWS_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    m_stream.reset(s);
    const auto B = static_cast<std::size_t>(max_batch);
    m_in_elems = static_cast<std::size_t>(cfg.in_chans) * cfg.img_size * cfg.img_size;
    m_in = m_arena.alloc<float>(B * m_in_elems, "input");
    m_logits = m_arena.alloc<float>(B * static_cast<std::size_t>(cfg.num_classes), "logits");
    // Scratch of the steps outside the blocks: im2col rows, then the head's LayerNorm output.
    const int L0 = cfg.stage_resolution(0) * cfg.stage_resolution(0), Ll = cfg.stage_resolution(cfg.num_stages() - 1);
    const std::size_t cols = std::max(static_cast<std::size_t>(L0) * cfg.in_chans * cfg.patch_size * cfg.patch_size,
                                      static_cast<std::size_t>(Ll) * Ll * cfg.num_features());
    m_cols = m_arena.alloc<float>(B * cols, "im2col / head scratch");
    m_pooled = m_arena.alloc<float>(B * static_cast<std::size_t>(cfg.num_features()), "pooled");
    void* hin = nullptr;
    void* hout = nullptr;
    SWS_CUDA_CHECK(cudaMallocHost(&hin, B * m_in_elems * sizeof(float)));
    m_host_in.reset(hin);
    SWS_CUDA_CHECK(cudaMallocHost(&hout, B * static_cast<std::size_t>(cfg.num_classes) * sizeof(float)));
    m_host_out.reset(hout);
  }

  int max_batch() const override { return m_max_batch; }
  Backend backend() const override { return kEmulated ? Backend::CUDAEmu : Backend::CUDA; }
  void* native_stream() const override { return m_stream.get(); }
  std::size_t device_bytes() const { return m_arena.bytes(); }

  void run(const float* input, int batch, float* logits, profiler::Recorder* rec) final {
    if (batch <= 0 || batch > m_max_batch)
      throw Error("plan: batch " + std::to_string(batch) + " outside 1.." + std::to_string(m_max_batch), Error::Kind::Runtime);
    prepare(batch);
    cudaStream_t st = m_stream.get();
    const std::size_t in_bytes = sizeof(float) * static_cast<std::size_t>(batch) * m_in_elems;
    std::memcpy(m_host_in.get(), input, in_bytes);
    SWS_CUDA_CHECK(cudaMemcpyAsync(m_in, m_host_in.get(), in_bytes, cudaMemcpyHostToDevice, st));
    // The graph holds the skip set it was captured with: ablation and recorded runs go ungraphed.
    if (rec == nullptr && m_graphs && skipped_stage().empty()) {
      auto& exec = m_graph[batch];
      if (!exec) exec = capture(batch);
      SWS_CUDA_CHECK(cudaGraphLaunch(exec.get(), st));
    } else {
      forward(batch, rec);
    }
    const std::size_t out_bytes = sizeof(float) * static_cast<std::size_t>(batch) * m_cfg.num_classes;
    SWS_CUDA_CHECK(cudaMemcpyAsync(m_host_out.get(), m_logits, out_bytes, cudaMemcpyDeviceToHost, st));
    SWS_CUDA_CHECK(cudaStreamSynchronize(st));
    std::memcpy(logits, m_host_out.get(), out_bytes);
  }

 protected:
  virtual void prepare(int batch) = 0;                            // idempotent; plan build calls it for max_batch
  virtual void forward(int batch, profiler::Recorder* rec) = 0;  // m_in → m_logits, enqueued on m_stream

  // ---- outside the blocks, FP32 in every plan (as FasterTransformer keeps them) ----
  // Uploads the patch embedding, final LayerNorm and head weights.
  void upload_outer(const Model& model) {
    auto up = [&](const std::string& n) { return m_arena.upload(model.tensor(n).data, n); };
    m_patch_w = up("patch_embed.proj.weight"), m_patch_b = up("patch_embed.proj.bias");
    m_patch_g = up("patch_embed.norm.weight"), m_patch_nb = up("patch_embed.norm.bias");
    m_norm_g = up("norm.weight"), m_norm_b = up("norm.bias");
    m_head_w = up("head.fc.weight"), m_head_b = up("head.fc.bias");
  }
  // The FP32 GEMMs of the patch embedding (im2col rows × Wᵀ) and the head (pooled × Wᵀ).
  int add_patch_gemm(int batch, bool tf32) {
    const auto& c = m_cfg;
    const int L0 = c.stage_resolution(0) * c.stage_resolution(0), K = c.in_chans * c.patch_size * c.patch_size;
    GemmDesc d;
    d.m = c.embed_dim, d.n = batch * L0, d.k = K, d.trans_a = true, d.lda = d.ldb = K, d.ldd = c.embed_dim;
    d.a = d.b = d.d = GemmType::F32, d.tf32 = tf32, d.label = "patch_embed";
    return m_runner.add(d);
  }
  int add_head_gemm(int batch, bool tf32) {
    const auto& c = m_cfg;
    GemmDesc d;
    d.m = c.num_classes, d.n = batch, d.k = c.num_features(), d.trans_a = true, d.lda = d.ldb = c.num_features();
    d.ldd = c.num_classes, d.a = d.b = d.d = GemmType::F32, d.tf32 = tf32, d.label = "head";
    return m_runner.add(d);
  }
  // The stage's shift mask ((nW, N, Np), cpu::int8::shift_mask) on the device, or null when no
  // block of the stage shifts.
  const float* upload_shift_mask(int stage) {
    const auto& c = m_cfg;
    for (int b = 0; b < c.depths[stage]; ++b)
      if (const int shift = c.stage_shift(stage, b); shift > 0)
        return m_arena.upload(cpu::int8::shift_mask(cpu::WindowGeometry{1, c.stage_resolution(stage), c.stage_dim(stage),
                                                                        c.stage_window(stage), shift, c.num_heads[stage]}),
                              "shift mask of stage " + std::to_string(stage));
    return nullptr;
  }

  // patch_embed: m_in → im2col → GEMM → bias + LayerNorm → x (B·L0, embed).
  void enqueue_patch_embed(int batch, int gemm, float* x, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    cudaStream_t st = m_stream.get();
    profiler::Span sp(rec, kPatchEmbed, -1);
    const long long rows = static_cast<long long>(batch) * c.stage_resolution(0) * c.stage_resolution(0);
    patch_im2col(m_in, m_cols, batch, c.in_chans, c.img_size, c.patch_size, st);
    m_runner.run(gemm, m_patch_w, m_cols, x, st);
    bias_layernorm_rows(x, x, rows, c.embed_dim, m_patch_b, m_patch_g, m_patch_nb, static_cast<float>(c.layer_norm_eps), st);
  }
  // head: x → LayerNorm → mean over tokens → GEMM + bias → m_logits.
  void enqueue_head(int batch, int gemm, const float* x, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    cudaStream_t st = m_stream.get();
    profiler::Span sp(rec, kHead, -1);
    const int L = c.stage_resolution(c.num_stages() - 1) * c.stage_resolution(c.num_stages() - 1);
    bias_layernorm_rows(x, m_cols, static_cast<long long>(batch) * L, c.num_features(), nullptr, m_norm_g, m_norm_b,
                        static_cast<float>(c.layer_norm_eps), st);
    mean_pool(m_cols, m_pooled, batch, L, c.num_features(), st);
    m_runner.run(gemm, m_head_w, m_pooled, m_logits, st);
    add_bias_rows(m_logits, batch, c.num_classes, m_head_b, st);
  }
  std::string outer_kernel(int gemm, bool head) const {
    const std::string lt = "cuBLASLt " + m_runner.desc(gemm).describe() + " [" + m_runner.algo_description(gemm) + "]";
    const std::string emu = kEmulated ? " (device emulation on the CPU)" : "";
    return head ? "bias_layernorm_rows + mean_pool + " + lt + " + add_bias_rows (fp32)" + emu
                : "patch_im2col + " + lt + " + bias_layernorm_rows (fp32)" + emu;
  }

  std::string graph_note() const {
    return m_graphs ? "whole forward captured as one CUDA graph per batch size (unrecorded runs); recorded and "
                      "ablation runs are enqueued stage by stage"
                    : "stage by stage (graphs off)";
  }

  SwinConfig m_cfg;
  int m_max_batch = 1;
  bool m_graphs = true;
  DeviceArena m_arena;
  StreamPtr m_stream;
  GemmRunner m_runner;
  float* m_in = nullptr;      // (B, Cin, img, img)
  float* m_logits = nullptr;  // (B, classes)
  float* m_cols = nullptr;    // im2col (B·L0, Cin·p·p) / head LayerNorm (B·L, F)

 private:
  float* m_pooled = nullptr;  // (B, F)
  const float *m_patch_w = nullptr, *m_patch_b = nullptr, *m_patch_g = nullptr, *m_patch_nb = nullptr;
  const float *m_norm_g = nullptr, *m_norm_b = nullptr, *m_head_w = nullptr, *m_head_b = nullptr;

  GraphExecPtr capture(int batch) {
    cudaStream_t st = m_stream.get();
    cudaGraph_t graph = nullptr;
    SWS_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
    try {
      forward(batch, nullptr);
    } catch (...) {
      cudaStreamEndCapture(st, &graph);
      if (graph) cudaGraphDestroy(graph);
      throw;
    }
    SWS_CUDA_CHECK(cudaStreamEndCapture(st, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    SWS_CUDA_CHECK(err);
    return GraphExecPtr(exec);
  }

  std::size_t m_in_elems = 0;
  std::unique_ptr<void, HostFree> m_host_in, m_host_out;  // pinned staging
  std::map<int, GraphExecPtr> m_graph;                    // by batch size
};

}  // namespace swinscope::SWS_CUDA_NS
