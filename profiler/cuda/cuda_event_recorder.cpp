#include "profiler/cuda/cuda_event_recorder.h"

#include <string>
#include <utility>

namespace SWS_PROFILER_CUDA_NS {

namespace {

void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw TraceError(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " +
                   cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

}  // namespace

#define SWINSCOPE_PROFILER_CUDA_CHECK(call) check((call), #call, __FILE__, __LINE__)

CudaEventRecorder::CudaEventRecorder(cudaStream_t stream, std::size_t reserve_spans, OnMismatch policy,
                                     bool nvtx)
    : m_stream(stream), m_log(reserve_spans, policy), m_nvtx(nvtx) {
  if (m_nvtx) m_domain = nvtxDomainCreateA("SwinScope");
  try {
    grow_pool(2 * reserve_spans + 2);
  } catch (...) {  // no device, or out of resources: the destructor will not run
    for (cudaEvent_t e : m_events) cudaEventDestroy(e);
    if (m_domain) nvtxDomainDestroy(m_domain);
    throw;
  }
}

CudaEventRecorder::~CudaEventRecorder() {
  // No throwing here: a failing destroy (e.g. after the context died) is not actionable.
  for (cudaEvent_t e : m_events) cudaEventDestroy(e);
  pop_ranges(m_log.depth());
  if (m_domain) nvtxDomainDestroy(m_domain);
}

void CudaEventRecorder::grow_pool(std::size_t events) {
  m_events.reserve(events);
  while (m_events.size() < events) {
    cudaEvent_t e = nullptr;
    SWINSCOPE_PROFILER_CUDA_CHECK(cudaEventCreate(&e));
    m_events.push_back(e);
  }
}

std::int64_t CudaEventRecorder::record() {
  // Growing mid-run costs an allocation and a driver call but keeps the trace complete;
  // reserve_runs() after a warm-up run avoids it.
  if (m_next_event == m_events.size()) grow_pool(2 * m_events.size() + 2);
  SWINSCOPE_PROFILER_CUDA_CHECK(cudaEventRecord(m_events[m_next_event], m_stream));
  return static_cast<std::int64_t>(m_next_event++);
}

void CudaEventRecorder::push_range(std::uint32_t name, int block) {
  if (!m_nvtx) return;
  if (name >= m_nvtx_names.size()) m_nvtx_names.resize(name + 1, nullptr);
  if (!m_nvtx_names[name]) m_nvtx_names[name] = nvtxDomainRegisterStringA(m_domain, m_log.name(name).c_str());
  nvtxEventAttributes_t attr{};
  attr.version = NVTX_VERSION;
  attr.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  attr.colorType = NVTX_COLOR_ARGB;
  attr.color = kind_colour_argb(m_log.name(name));
  attr.payloadType = NVTX_PAYLOAD_TYPE_INT32;
  attr.payload.iValue = block;
  attr.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
  attr.message.registered = m_nvtx_names[name];
  nvtxDomainRangePushEx(m_domain, &attr);
}

void CudaEventRecorder::pop_ranges(int n) {
  if (!m_nvtx) return;
  for (int i = 0; i < n; ++i) nvtxDomainRangePop(m_domain);
}

void CudaEventRecorder::begin(std::string_view stage, int block) {
  if (!m_log.run_open()) m_log.begin_run(m_log.next_run(), record());
  SpanLog::Raw& raw = m_log.open(stage, block);
  push_range(raw.name, block);
  raw.begin = record();
}

void CudaEventRecorder::end() {
  // Recording the end event before knowing a span is open wastes one pooled event on a
  // mismatched end(); the common case saves a branch on the hot path instead.
  if (m_log.close(record())) pop_ranges(1);
}

void CudaEventRecorder::begin_run(int run) {
  if (m_log.run_open()) end_run();
  m_log.begin_run(run, record());
}

void CudaEventRecorder::end_run() {
  const int open = m_log.depth();
  pop_ranges(open);  // before end_run, which may throw for the unclosed spans
  m_log.end_run(record());
}

Trace CudaEventRecorder::take_trace(TraceContext context) {
  if (m_log.run_open()) end_run();
  SWINSCOPE_PROFILER_CUDA_CHECK(cudaStreamSynchronize(m_stream));
  Trace trace = m_log.build(std::move(context), [this](std::int64_t from, std::int64_t to) {
    if (from == to) return 0.0;
    float ms = 0;
    SWINSCOPE_PROFILER_CUDA_CHECK(cudaEventElapsedTime(&ms, m_events[static_cast<std::size_t>(from)],
                                                       m_events[static_cast<std::size_t>(to)]));
    return static_cast<double>(ms) * 1e3;
  });
  clear();
  return trace;
}

void CudaEventRecorder::clear() {
  pop_ranges(m_log.depth());
  m_log.clear();
  m_next_event = 0;
}

void CudaEventRecorder::reserve_runs(int runs) {
  m_log.reserve_runs(runs);
  if (runs > 0) grow_pool(m_next_event + static_cast<std::size_t>(runs) * (2 * m_log.largest_run() + 2));
}

}  // namespace SWS_PROFILER_CUDA_NS
