#include "engine/plan.h"

#include <fstream>
#include <thread>

#include <omp.h>

#include "engine/cpu/fp32_plan.h"
#include "engine/cpu/int8_plan.h"
#include "engine/cpu/ivit_plan.h"
#include "engine/error.h"
#include "engine/quantize.h"
#include "engine/stages.h"
#ifdef SWINSCOPE_HAVE_CUDA
#include "engine/cuda/device.h"
#endif
#include "engine/cuda/plans.h"
#include "profiler/cpu_clock_recorder.h"

namespace swinscope {

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::CPU: return "cpu";
    case Backend::CUDA: return "cuda";
    case Backend::CUDAEmu: return "cuda-emu";
  }
  return "?";
}

std::string_view gemm_policy_name(GemmPolicy p) {
  switch (p) {
    case GemmPolicy::Auto: return "auto";
    case GemmPolicy::CuBlasLt: return "cublaslt";
    case GemmPolicy::Own: return "own";
    case GemmPolicy::Tune: return "tune";
  }
  return "?";
}

GemmPolicy parse_gemm_policy(const std::string& s) {
  for (auto p : {GemmPolicy::Auto, GemmPolicy::CuBlasLt, GemmPolicy::Own, GemmPolicy::Tune})
    if (s == gemm_policy_name(p)) return p;
  throw Error("unknown GEMM policy '" + s + "' (valid: auto, cublaslt, own, tune)");
}

std::string_view variant_name(Variant v) {
  switch (v) {
    case Variant::FP32: return "fp32";
    case Variant::FP16: return "fp16";
    case Variant::Int8Gelu: return "int8-gelu";
    case Variant::Int8Relu: return "int8-relu";
    case Variant::Int8GeluFused: return "int8-gelu-fused";
    case Variant::Int8Ivit: return "int8-ivit";
  }
  return "?";
}

Variant parse_variant(const std::string& s) {
  for (auto v : {Variant::FP32, Variant::FP16, Variant::Int8Gelu, Variant::Int8Relu, Variant::Int8GeluFused, Variant::Int8Ivit})
    if (s == variant_name(v)) return v;
  throw Error("unknown variant '" + s + "' (valid: fp32, fp16, int8-gelu, int8-relu, int8-gelu-fused, int8-ivit)");
}

std::vector<VariantSupport> variant_support(const Model& model) {
  std::vector<VariantSupport> out;
  const bool int8 = model.is_int8();
  auto first_line = [](const std::string& s) {
    const auto colon = s.find(": ");  // drop the file name the checks start with
    return colon == std::string::npos ? s : s.substr(colon + 2);
  };
  for (auto v : {Variant::FP32, Variant::FP16, Variant::Int8Gelu, Variant::Int8Relu, Variant::Int8GeluFused, Variant::Int8Ivit}) {
    VariantSupport s{v, false, {}};
    if (v == Variant::FP32 || v == Variant::FP16) {
      s.runs = !int8;
      s.note = int8 ? "needs the float model" : (v == Variant::FP32 ? "CPU, CUDA" : "CUDA only");
    } else if (!int8) {
      s.note = "needs an int8 file (swinscope-cli quantize)";
    } else {
      try {
        cpu::check_int8_variant(model, v);
        s.runs = true;
        s.note = v == Variant::Int8GeluFused ? "CUDA only" : "CPU, CUDA";
        if (v == Variant::Int8Ivit)
          if (const std::string n = missing_ivit_range(model); !n.empty()) {
            s.runs = false;
            s.note = "lacks its ranges (e.g. " + n + "): swinscope-cli quantize --model this file adds them";
          }
      } catch (const Error& e) {
        s.note = first_line(e.what());
      }
    }
    if (s.runs && v == default_variant(model)) s.note += "; the default";
    out.push_back(std::move(s));
  }
  return out;
}

Variant default_variant(const Model& model) {
  if (!model.is_int8()) return Variant::FP32;
  for (auto a : model.activations)
    if (a == Activation::ReLU) return Variant::Int8Relu;
  return Variant::Int8Gelu;
}

std::string cuda_unavailable_reason() {
#ifdef SWINSCOPE_HAVE_CUDA
  const auto q = cuda::query_devices();
  if (!q.error.empty()) return "no usable CUDA device (" + q.error + ")";
  if (q.count == 0) return "no CUDA device found";
  return "";
#else
  return "this build has no CUDA backend (configured without a CUDA compiler)";
#endif
}

std::string cpu_description() {
  std::string model = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  const int t = omp_get_max_threads();
  return "CPU: " + model + ", " + std::to_string(t) + (t == 1 ? " thread" : " threads");
}

BackendChoice choose_backend(const std::string& request) {
  if (request != "auto" && request != "cpu" && request != "cuda" && request != "cuda-emu")
    throw Error("unknown backend '" + request + "' (valid: auto, cpu, cuda, cuda-emu)");
  BackendChoice c;
  if (request == "cpu") {
    c.device = cpu_description();
    return c;
  }
  if (request == "cuda-emu") {
#ifdef SWINSCOPE_HAVE_CUDA_EMU
    c.backend = Backend::CUDAEmu;
    c.device = "CUDA device emulation on the " + cpu_description() + " (a testing aid: correct, slow, no timing meaning)";
    c.notice = "cuda-emu runs the CUDA backend's kernels on the CPU for testing; its timings mean nothing";
    return c;
#else
    throw Error("--backend cuda-emu: this build has no device emulation (configure with -DSWINSCOPE_CUDA_EMU=ON)",
                Error::Kind::Runtime);
#endif
  }
  const std::string why = cuda_unavailable_reason();
  if (why.empty()) {
#ifdef SWINSCOPE_HAVE_CUDA
    c.backend = Backend::CUDA;
    c.device = cuda::query_devices().name;
    return c;
#endif
  }
  c.notice = "CUDA unavailable: " + why + "; using the CPU backend";
  if (request == "cuda") throw Error("--backend cuda: " + why, Error::Kind::Runtime);
  c.device = cpu_description();
  return c;
}

namespace {

std::unique_ptr<Plan> make_cuda_plan([[maybe_unused]] const Model& model, const PlanOptions& opts) {
  const bool emu = opts.backend == Backend::CUDAEmu;
  const std::string where = emu ? "the cuda-emu backend" : "the CUDA backend";
  const bool ivit = opts.variant == Variant::Int8Ivit;
  const bool fp = opts.variant == Variant::FP32 || opts.variant == Variant::FP16;
  if (emu) {
#ifdef SWINSCOPE_HAVE_CUDA_EMU
    if (ivit) return cuda_emu::make_ivit_plan(model, opts.max_batch);
    return fp ? cuda_emu::make_float_plan(model, opts.variant, opts.tf32, opts.max_batch)
              : cuda_emu::make_int8_plan(model, opts.variant, opts.max_batch, opts.fused_attention, opts.gemm);
#endif
  } else {
#ifdef SWINSCOPE_HAVE_CUDA
    if (ivit) return cuda::make_ivit_plan(model, opts.max_batch);
    return fp ? cuda::make_float_plan(model, opts.variant, opts.tf32, opts.max_batch)
              : cuda::make_int8_plan(model, opts.variant, opts.max_batch, opts.fused_attention, opts.gemm);
#endif
  }
  (void)fp, (void)ivit;
  throw Error(where + " is not in this build", Error::Kind::Runtime);
}

}  // namespace

std::unique_ptr<profiler::TraceRecorder> make_trace_recorder([[maybe_unused]] const Plan& plan) {
#ifdef SWINSCOPE_HAVE_CUDA
  if (plan.backend() == Backend::CUDA) return cuda::make_event_recorder(plan.native_stream());
#endif
#ifdef SWINSCOPE_HAVE_CUDA_EMU
  if (plan.backend() == Backend::CUDAEmu) return cuda_emu::make_event_recorder(plan.native_stream());
#endif
  return std::make_unique<profiler::CpuClockRecorder>();
}

std::unique_ptr<Plan> make_plan(const Model& model, const PlanOptions& opts) {
  register_stage_colours();  // NVTX ranges and timelines use the engine's stage colours
  if (opts.threads > 0) omp_set_num_threads(opts.threads);
  if (opts.backend != Backend::CPU) return make_cuda_plan(model, opts);
  switch (opts.variant) {
    case Variant::FP32:
      if (model.is_int8())
        throw Error(model.path.string() + ": variant fp32 needs the float model; this file holds int8 weights (run it as " +
                    std::string(variant_name(default_variant(model))) + ", its default)");
      return cpu::make_fp32_plan(model, opts.max_batch);
    case Variant::FP16:
      throw Error("variant fp16 runs on the CUDA backend only (" +
                  (cuda_unavailable_reason().empty() ? std::string("use --backend cuda") : cuda_unavailable_reason()) + ")");
    case Variant::Int8Gelu:
    case Variant::Int8Relu: return cpu::make_int8_plan(model, opts.variant, opts.max_batch);
    case Variant::Int8GeluFused:
      throw Error("variant int8-gelu-fused (GELU fused into the FC1 GEMM) runs on the CUDA backend only; on the CPU the "
                  "GELU model runs as int8-gelu");
    case Variant::Int8Ivit: return cpu::make_ivit_plan(model, opts.max_batch);
  }
  throw Error("unknown variant");
}

}  // namespace swinscope
