#include "profiler/trace.h"

#include <map>
#include <mutex>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <string>

namespace swinscope::profiler {

std::vector<std::string> stage_kinds(const Trace& trace) {
  std::map<int, std::string> by_stage;
  for (const TraceSpan& s : trace.spans)
    if (s.stage >= 0) by_stage.emplace(s.stage, s.kind);
  std::vector<std::string> kinds;
  kinds.reserve(by_stage.size());
  for (auto& [stage, kind] : by_stage) kinds.push_back(kind);
  return kinds;
}

int max_depth(const Trace& trace) {
  int depth = -1;
  for (const TraceSpan& s : trace.spans) depth = std::max(depth, s.depth);
  return depth;
}

namespace {
struct ColourRegistry {
  std::mutex mutex;
  std::map<std::string, std::uint32_t, std::less<>> colours;
};
ColourRegistry& colour_registry() {
  static ColourRegistry r;
  return r;
}
}  // namespace

void set_kind_colour(std::string_view kind, std::uint32_t argb) {
  auto& r = colour_registry();
  const std::lock_guard lock(r.mutex);
  r.colours[std::string(kind)] = argb;
}

std::uint32_t kind_colour_argb(std::string_view kind) {
  {
    auto& r = colour_registry();
    const std::lock_guard lock(r.mutex);
    if (auto it = r.colours.find(kind); it != r.colours.end()) return it->second;
  }
  // Tableau 10 plus two: distinct at a glance, readable on light and dark backgrounds.
  static constexpr std::array<std::uint32_t, 12> kPalette = {
      0xFF4E79A7, 0xFFF28E2B, 0xFFE15759, 0xFF76B7B2, 0xFF59A14F, 0xFFEDC948,
      0xFFB07AA1, 0xFFFF9DA7, 0xFF9C755F, 0xFFBAB0AC, 0xFF86BCB6, 0xFFD37295};
  // FNV-1a: stable across compilers and runs, unlike std::hash.
  std::uint32_t h = 2166136261u;
  for (char c : kind) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return kPalette[h % kPalette.size()];
}

// ---- SpanLog ----

SpanLog::SpanLog(std::size_t reserve_spans, OnMismatch policy) : m_policy(policy) {
  m_spans.reserve(reserve_spans);
  m_stack.reserve(64);
  m_runs.reserve(64);
}

std::uint32_t SpanLog::intern(std::string_view name) {
  if (auto it = m_ids.find(name); it != m_ids.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(m_names.size());
  m_names.emplace_back(name);
  m_ids.emplace(std::string_view(m_names.back()), id);
  return id;
}

void SpanLog::begin_run(int run, std::int64_t tick) {
  if (m_run_open) end_run(tick);
  m_runs.push_back(RawRun{run, tick, tick, m_spans.size()});
  m_run_open = true;
}

int SpanLog::end_run(std::int64_t tick) {
  if (!m_run_open) {
    if (m_policy == OnMismatch::Throw) throw std::logic_error("profiler: end_run() without begin_run()");
    return 0;
  }
  const int unclosed = static_cast<int>(m_stack.size());
  for (std::uint32_t i : m_stack) m_spans[i].end = tick;
  m_stack.clear();
  m_unclosed_spans += unclosed;
  RawRun& run = m_runs.back();
  run.end = tick;
  m_largest_run = std::max(m_largest_run, m_spans.size() - run.first_span);
  m_run_open = false;
  if (unclosed > 0 && m_policy == OnMismatch::Throw)
    throw std::logic_error("profiler: run " + std::to_string(run.run) + " ended with " +
                           std::to_string(unclosed) + " span(s) still open");
  return unclosed;
}

SpanLog::Raw& SpanLog::open(std::string_view name, int block) {
  if (!m_run_open) throw std::logic_error("profiler: span opened outside a run");
  m_stack.push_back(static_cast<std::uint32_t>(m_spans.size()));
  Raw& raw = m_spans.emplace_back();
  raw.name = intern(name);
  raw.block = block;
  raw.depth = static_cast<int>(m_stack.size()) - 1;
  raw.run = m_runs.back().run;
  return raw;
}

bool SpanLog::close(std::int64_t tick) {
  if (m_stack.empty()) {
    ++m_unmatched_ends;
    if (m_policy == OnMismatch::Throw) throw std::logic_error("profiler: end() without a matching begin()");
    return false;
  }
  m_spans[m_stack.back()].end = tick;
  m_stack.pop_back();
  return true;
}

void SpanLog::reserve(std::size_t spans) { m_spans.reserve(spans); }

void SpanLog::reserve_runs(int runs) {
  if (runs <= 0) return;
  m_spans.reserve(m_spans.size() + static_cast<std::size_t>(runs) * m_largest_run);
  m_runs.reserve(m_runs.size() + static_cast<std::size_t>(runs));
}

void SpanLog::clear() {
  m_spans.clear();
  m_stack.clear();
  m_runs.clear();
  m_run_open = false;
  m_unmatched_ends = 0;
  m_unclosed_spans = 0;
}

Trace SpanLog::build(TraceContext context,
                     const std::function<double(std::int64_t, std::int64_t)>& elapsed_us) const {
  Trace trace;
  trace.context = std::move(context);
  trace.unmatched_ends = m_unmatched_ends;
  trace.unclosed_spans = m_unclosed_spans;
  trace.runs.reserve(m_runs.size());
  trace.spans.reserve(m_spans.size());
  // Stage indices follow first appearance, which is the engine's execution order.
  std::vector<int> stage_of(m_names.size(), -1);
  int next_stage = 0;
  for (std::size_t r = 0; r < m_runs.size(); ++r) {
    const RawRun& run = m_runs[r];
    const std::size_t last = r + 1 < m_runs.size() ? m_runs[r + 1].first_span : m_spans.size();
    trace.runs.push_back(TraceRun{run.run, elapsed_us(m_runs.front().begin, run.begin),
                                  elapsed_us(run.begin, run.end)});
    for (std::size_t i = run.first_span; i < last; ++i) {
      const Raw& raw = m_spans[i];
      if (stage_of[raw.name] < 0) stage_of[raw.name] = next_stage++;
      TraceSpan& span = trace.spans.emplace_back();
      span.name = m_names[raw.name];
      span.kind = span.name;
      span.stage = stage_of[raw.name];
      span.block = raw.block;
      span.depth = raw.depth;
      span.start_us = elapsed_us(run.begin, raw.begin);
      span.dur_us = elapsed_us(raw.begin, raw.end);
      span.run = raw.run;
    }
  }
  trace.context.runs = static_cast<int>(trace.runs.size());
  return trace;
}

}  // namespace swinscope::profiler
