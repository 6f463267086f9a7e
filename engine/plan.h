#pragma once
// A model compiled for one backend and one variant. Building validates everything and
// allocates every buffer for `max_batch`; run() does not allocate once a batch size has
// been seen (the first run at a new batch size builds that size's primitives).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/stages.h"
#include "profiler/recorder.h"
#include "profiler/trace.h"

namespace swinscope {

// CUDAEmu: the CUDA backend's very kernels and plan under device emulation on the CPU — a
// testing aid (correctness only: slow, and it says nothing about speed or the memory model).
enum class Backend { CPU, CUDA, CUDAEmu };
// Int8GeluFused: the GELU model with bias + GELU + requantize fused into the FC1 GEMM's epilogue
// (CUDA, own GEMM): how much of the GELU-less gain survives when GELU is fused too (issue 13).
// Int8Ivit: integer-only after I-ViT (Shiftmax, ShiftGELU in GELU blocks or ReLU in GELU-less
// ones, I-LayerNorm, dyadic requantization, a 16-bit integer residual stream; issue 16). CPU.
enum class Variant { FP32, FP16, Int8Gelu, Int8Relu, Int8GeluFused, Int8Ivit };

// CUDA int8: where the block GEMMs run (issue 13).
enum class GemmPolicy {
  Auto,      // on a GPU: Tune; under device emulation: CuBlasLt (emulated timings say nothing)
  CuBlasLt,  // cuBLASLt, with the separate ops (the GELU-less FC1's ReLU as its own kernel)
  Own,       // SwinScope's int8 tensor-core GEMM (gemm_s8) wherever K allows, tile by its rule
  Tune,      // per shape, the fastest of cuBLASLt (+ op) and gemm_s8's tiles, timed at plan build
};

std::string_view backend_name(Backend b);
std::string_view gemm_policy_name(GemmPolicy p);
GemmPolicy parse_gemm_policy(const std::string& s);  // throws Error listing the valid names
std::string_view variant_name(Variant v);
Variant parse_variant(const std::string& s);  // throws Error listing the valid names
// The variant a model runs as when none is asked for: fp32 for a float model; for an int8
// model int8-relu when any block is GELU-less (ReLU; a half-distilled model included),
// else int8-gelu. make_plan refuses variants that do not fit the file.
Variant default_variant(const Model& model);

// Which variants a model file can run, each with where (or why not), for `info` and the app.
struct VariantSupport {
  Variant variant;
  bool runs = false;
  std::string note;  // "CPU, CUDA", "CUDA only", or the reason it cannot run
};
std::vector<VariantSupport> variant_support(const Model& model);

// The one place where the backend is decided. `request` is auto | cpu | cuda | cuda-emu.
struct BackendChoice {
  Backend backend = Backend::CPU;
  std::string device;  // "NVIDIA H100 80GB HBM3" or "CPU: <model name>, N threads"
  std::string notice;  // why CUDA is not used, when it is not; shown to the user
};
BackendChoice choose_backend(const std::string& request);
// Empty when a CUDA device is usable; otherwise the reason (not compiled in, no device, ...).
std::string cuda_unavailable_reason();
std::string cpu_description();

struct StageKernel {
  std::string stage;
  std::string kernel;  // what implements it, e.g. "oneDNN matmul f32 (gelu_erf post-op)"
};

class Plan {
 public:
  virtual ~Plan() = default;
  // input: (batch, in_chans, img, img) normalized floats; logits: (batch, num_classes).
  virtual void run(const float* input, int batch, float* logits, profiler::Recorder* rec = nullptr) = 0;
  virtual int max_batch() const = 0;
  virtual Backend backend() const = 0;
  virtual Variant variant() const = 0;
  virtual std::vector<StageKernel> kernels() const = 0;
  // The CUDA stream the plan enqueues on (cudaStream_t), for a CudaEventRecorder; null on the CPU.
  virtual void* native_stream() const { return nullptr; }

  // Intermediate tensors for numerics (engine/quant_error.h): while set, run() calls `tap` with
  // each named tensor dequantized to float, under the names and in the layouts of
  // float_reference_forward's observer (engine/quantize.h). Empty (the default): nothing is
  // copied and the run path only tests for it. Returns false when the plan has no taps (then
  // it never calls `tap`); today the CPU int8 plan has them.
  using TensorTap = std::function<void(const std::string& name, const float* data, std::size_t n)>;
  virtual bool set_tensor_tap(TensorTap tap) {
    (void)tap;
    return false;
  }

  // Ablation, the paper's second way to time a fused op: the named stage is skipped in
  // every block (empty: none). Outputs are then meaningless and must not be used.
  void set_skipped_stage(std::string stage) { m_skipped = std::move(stage); }
  const std::string& skipped_stage() const { return m_skipped; }

 protected:
  bool skipped(std::string_view stage) const { return !m_skipped.empty() && stage == m_skipped; }
  // Stage `index` of engine/stages.h in block `block`: nothing when ablated, else `work` in its span.
  template <typename Work>
  void run_stage(profiler::Recorder* rec, int index, int block, Work&& work) const {
    const std::string_view name = swinscope::stage(index).name;
    if (skipped(name)) return;
    profiler::Span sp(rec, name, block);
    work();
  }

 private:
  std::string m_skipped;
};

struct PlanOptions {
  Variant variant = Variant::FP32;
  Backend backend = Backend::CPU;
  int max_batch = 1;
  int threads = 0;  // 0: one per core
  bool tf32 = false;  // CUDA fp32: TF32 tensor cores for the GEMMs (default: strict FP32)
  // CUDA int8: stages 4–6 as one fused window_attention kernel per (window, head) (issue 13).
  bool fused_attention = false;
  // CUDA int8: cuBLASLt or the own int8 tensor-core GEMM (gemm_s8, sm_80+, ReLU fused into FC1
  // of GELU-less blocks) per block GEMM; linears whose K is not a multiple of 16 stay on cuBLASLt.
  GemmPolicy gemm = GemmPolicy::Auto;
};

std::unique_ptr<Plan> make_plan(const Model& model, const PlanOptions& opts);

// The recorder that times `plan` truthfully: the host clock on the CPU, CUDA events and NVTX
// ranges on the plan's stream for a CUDA plan (real or emulated).
std::unique_ptr<profiler::TraceRecorder> make_trace_recorder(const Plan& plan);

}  // namespace swinscope
