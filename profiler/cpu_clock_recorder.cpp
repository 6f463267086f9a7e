#include "profiler/cpu_clock_recorder.h"

#include <chrono>
#include <cstdint>

namespace swinscope::profiler {

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

CpuClockRecorder::CpuClockRecorder(std::size_t reserve_spans, OnMismatch policy)
    : m_log(reserve_spans, policy) {}

void CpuClockRecorder::begin(std::string_view stage, int block) {
  if (!m_log.run_open()) m_log.begin_run(m_log.next_run(), now_ns());
  // The clock is read last on begin and first on end, so the bookkeeping stays outside
  // the measured interval.
  SpanLog::Raw& raw = m_log.open(stage, block);
  raw.begin = now_ns();
}

void CpuClockRecorder::end() { m_log.close(now_ns()); }

void CpuClockRecorder::begin_run(int run) { m_log.begin_run(run, now_ns()); }

void CpuClockRecorder::end_run() { m_log.end_run(now_ns()); }

Trace CpuClockRecorder::take_trace(TraceContext context) {
  if (m_log.run_open()) m_log.end_run(now_ns());
  Trace trace = m_log.build(std::move(context), [](std::int64_t from, std::int64_t to) {
    return static_cast<double>(to - from) * 1e-3;
  });
  m_log.clear();
  return trace;
}

}  // namespace swinscope::profiler
