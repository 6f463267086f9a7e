// The recorder a CUDA plan is profiled with: CUDA events + NVTX on the plan's stream (the host
// clock only sees when work was enqueued). Built twice like every CUDA source: the emulated
// plan gets the emulated recorder (events stamped when the synchronous emulated work runs).
#include "engine/cuda/platform.cuh"
#include "engine/cuda/plans.h"
#include "profiler/cpu_clock_recorder.h"
#if !defined(SWINSCOPE_CUDA_EMU) || defined(SWINSCOPE_HAVE_CUDA_EMU_RECORDER)
#include "profiler/cuda/cuda_event_recorder.h"
#define SWS_HAVE_EVENT_RECORDER 1
#endif

namespace swinscope::SWS_CUDA_NS {

std::unique_ptr<profiler::TraceRecorder> make_event_recorder(void* stream) {
#ifdef SWS_HAVE_EVENT_RECORDER
  return std::make_unique<SWS_PROFILER_CUDA_NS::CudaEventRecorder>(static_cast<cudaStream_t>(stream));
#else
  (void)stream;  // emulation without NVTX headers: the work is synchronous, so the host clock is right
  return std::make_unique<profiler::CpuClockRecorder>();
#endif
}

}  // namespace swinscope::SWS_CUDA_NS
