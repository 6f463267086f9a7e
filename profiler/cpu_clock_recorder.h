#pragma once
// Host wall-clock recorder (std::chrono::steady_clock). For the CPU backend the host
// clock is the device clock; for CUDA use CudaEventRecorder, since the host only sees
// when work was enqueued.
#include <cstddef>
#include <string_view>

#include "profiler/trace.h"

namespace swinscope::profiler {

class CpuClockRecorder final : public TraceRecorder {
 public:
  explicit CpuClockRecorder(std::size_t reserve_spans = 4096, OnMismatch policy = kDefaultOnMismatch);

  // A begin() outside a run opens the next run implicitly; take_trace() closes it.
  void begin(std::string_view stage, int block) override;
  void end() override;
  void begin_run(int run) override;
  void end_run() override;
  Trace take_trace(TraceContext context) override;
  void clear() override { m_log.clear(); }
  void reserve_runs(int runs) override { m_log.reserve_runs(runs); }

  const SpanLog& log() const { return m_log; }

 private:
  SpanLog m_log;
};

}  // namespace swinscope::profiler
