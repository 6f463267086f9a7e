#pragma once
// The CUDA backend's plans, built twice: for a real GPU (namespace swinscope::cuda, nvcc and
// cuBLASLt) and under device emulation (swinscope::cuda_emu, every kernel on the CPU). The
// engine's make_plan() is the one caller; it picks the namespace by the requested backend.
#include <memory>

#include "engine/plan.h"
#include "profiler/trace.h"

namespace swinscope::cuda {
std::unique_ptr<Plan> make_int8_plan(const Model& model, Variant variant, int max_batch, bool fused_attention = false,
                                     GemmPolicy gemm = GemmPolicy::Auto);
// fp32 (tf32: TF32 tensor cores for the GEMMs) or fp16.
std::unique_ptr<Plan> make_float_plan(const Model& model, Variant variant, bool tf32, int max_batch);
// int8-ivit (integer-only after I-ViT): engine/cuda/ivit_plan.cpp.
std::unique_ptr<Plan> make_ivit_plan(const Model& model, int max_batch);
// A CudaEventRecorder on `stream` (the plan's native_stream()).
std::unique_ptr<profiler::TraceRecorder> make_event_recorder(void* stream);
}
namespace swinscope::cuda_emu {
std::unique_ptr<Plan> make_int8_plan(const Model& model, Variant variant, int max_batch, bool fused_attention = false,
                                     GemmPolicy gemm = GemmPolicy::Auto);
std::unique_ptr<Plan> make_float_plan(const Model& model, Variant variant, bool tf32, int max_batch);
std::unique_ptr<Plan> make_ivit_plan(const Model& model, int max_batch);
std::unique_ptr<profiler::TraceRecorder> make_event_recorder(void* stream);
}
