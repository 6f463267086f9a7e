#pragma once
// The CUDA runtime the CUDA recorder is built against: the real one, or — with
// SWINSCOPE_CUDA_EMU — the project's device emulation (engine/cuda/emu, a standalone runtime
// with no SWIN knowledge), so an emulated run records events and NVTX ranges as a real one
// does. The class then lives in swinscope::profiler::cuda_emu, beside the real one.
#ifdef SWINSCOPE_CUDA_EMU
#include "engine/cuda/emu/cuda_emu.h"
#define SWS_PROFILER_CUDA_NS swinscope::profiler::cuda_emu
namespace swinscope::profiler::cuda_emu {
using namespace ::sws_emu;
}
#else
#include <cuda_runtime_api.h>
#define SWS_PROFILER_CUDA_NS swinscope::profiler
#endif
