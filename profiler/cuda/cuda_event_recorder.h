#pragma once
// CUDA recorder: per span an NVTX range (domain "SwinScope", coloured by kind, payload =
// block index) for Nsight Systems, and a pair of pooled cudaEvent_t recorded on the
// stream for SwinScope's own timeline. Event times are resolved only in take_trace(),
// after one synchronize, so recording never stalls the stream between kernels.
// Only compiled when CUDA is found (SWINSCOPE_HAVE_CUDA).
#include <nvtx3/nvToolsExt.h>

#include "profiler/cuda/cuda_api.h"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "profiler/trace.h"

namespace SWS_PROFILER_CUDA_NS {

class CudaEventRecorder final : public TraceRecorder {
 public:
  // Creates 2 · reserve_spans events up front; the pool grows only when a session needs
  // more, and recording into it never creates events once it is large enough.
  explicit CudaEventRecorder(cudaStream_t stream, std::size_t reserve_spans = 1024,
                             OnMismatch policy = kDefaultOnMismatch, bool nvtx = true);
  ~CudaEventRecorder() override;
  CudaEventRecorder(const CudaEventRecorder&) = delete;
  CudaEventRecorder& operator=(const CudaEventRecorder&) = delete;

  // A begin() outside a run opens the next run implicitly; take_trace() closes it.
  void begin(std::string_view stage, int block) override;
  void end() override;
  void begin_run(int run) override;
  void end_run() override;
  // Synchronizes the stream, then reads every event pair.
  Trace take_trace(TraceContext context) override;
  void clear() override;
  void reserve_runs(int runs) override;

  cudaStream_t stream() const { return m_stream; }
  std::size_t pool_size() const { return m_events.size(); }

 private:
  std::int64_t record();  // records the next pooled event on the stream; returns its slot
  void grow_pool(std::size_t events);
  void push_range(std::uint32_t name, int block);
  void pop_ranges(int n);

  cudaStream_t m_stream = nullptr;
  SpanLog m_log;
  std::vector<cudaEvent_t> m_events;
  std::size_t m_next_event = 0;
  bool m_nvtx = true;
  nvtxDomainHandle_t m_domain = nullptr;
  std::vector<nvtxStringHandle_t> m_nvtx_names;  // by interned name id, registered once each
};

}  // namespace SWS_PROFILER_CUDA_NS
