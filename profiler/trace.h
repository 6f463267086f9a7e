#pragma once
// A Trace is plain data: what one profiling session recorded, with no clock or device
// handle attached, so stats, exporters, the GUI and the tests all work on the same value.
// The second half of this header is the bookkeeping both recorders share (SpanLog).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "profiler/recorder.h"

namespace swinscope::profiler {

// Bad trace files and failed writes. Messages name the file (or "<string>") and the reason.
class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TraceSpan {
  std::string name;  // as shown in timelines
  std::string kind;  // what stats group by; the recorders set it to the stage name
  int stage = -1;    // index of `kind` in the order kinds first appear in the trace, or -1
  int block = -1;    // -1 outside the transformer blocks
  int depth = 0;     // 0 = outermost span of its run
  double start_us = 0;  // from the start of its run, so runs overlay directly
  double dur_us = 0;
  int run = 0;
  bool operator==(const TraceSpan&) const = default;
};

struct TraceRun {
  int run = 0;
  double start_us = 0;  // from the start of the first run in the trace
  double dur_us = 0;    // wall time of the whole run, gaps between spans included
  bool operator==(const TraceRun&) const = default;
};

struct TraceContext {
  std::string model;
  std::string variant;  // e.g. int8-gelu, int8-relu
  std::string backend;  // cpu, cuda
  std::string device;
  int batch = 1;
  int runs = 0;    // recorded runs
  int warmup = 0;  // unrecorded runs before them
  std::string notes;
  bool operator==(const TraceContext&) const = default;
};

struct Trace {
  TraceContext context;
  std::vector<TraceSpan> spans;  // per run in pre-order: a parent precedes its children
  std::vector<TraceRun> runs;
  // Median end-to-end latency with recording off, measured by the caller (0 = not
  // measured). Recording is not free; this is the reference the overhead is shown against.
  double end_to_end_us_unrecorded = 0;
  int unmatched_ends = 0;  // end() with nothing open
  int unclosed_spans = 0;  // spans still open when their run ended; closed at the run's end
  bool operator==(const Trace&) const = default;
};

// Kinds ordered by their stage index.
std::vector<std::string> stage_kinds(const Trace& trace);
int max_depth(const Trace& trace);  // -1 for an empty trace

// One fixed palette, indexed by a hash of the kind, so NVTX ranges in Nsight and the
// GUI timeline give a stage the same colour in every run and every build.
std::uint32_t kind_colour_argb(std::string_view kind);
// Gives `kind` a fixed colour, taking precedence over the hashed palette (which maps many
// kinds onto 12 colours). The profiler knows no stage names; the engine registers its own.
// Thread-safe; the last registration wins.
void set_kind_colour(std::string_view kind, std::uint32_t argb);

// ---- Recording support shared by CpuClockRecorder and CudaEventRecorder ----

// A mismatched end() is a bug in the instrumented code. Throwing finds it in debug
// builds; in release it is counted and shown in the trace instead. Note that throwing
// from a Span destructor terminates: Throw is for tests and debugging.
enum class OnMismatch { Throw, Count };
#ifdef NDEBUG
inline constexpr OnMismatch kDefaultOnMismatch = OnMismatch::Count;
#else
inline constexpr OnMismatch kDefaultOnMismatch = OnMismatch::Throw;
#endif

// A Recorder that also marks runs and hands back what it recorded; what the CLI and
// GUI hold so one code path serves both backends.
class TraceRecorder : public Recorder {
 public:
  virtual void begin_run(int run) = 0;
  virtual void end_run() = 0;
  // Resolves times, builds the Trace and forgets the recorded spans (keeping capacity).
  virtual Trace take_trace(TraceContext context) = 0;
  // Drops what was recorded (e.g. warm-up runs) without resolving it.
  virtual void clear() = 0;
  // Capacity for `runs` more runs the size of the largest run seen so far; call after a
  // warm-up run so the measured runs never grow storage.
  virtual void reserve_runs(int runs) = 0;
};

// Nested spans with interned names and opaque ticks (a clock reading or an event slot).
// Names are interned once per distinct string: recording a span stores an id, builds no
// std::string and, once capacity is reserved, allocates nothing.
class SpanLog {
 public:
  struct Raw {
    std::uint32_t name = 0;
    int block = -1;
    int depth = 0;
    int run = 0;
    std::int64_t begin = 0;
    std::int64_t end = 0;
  };
  struct RawRun {
    int run = 0;
    std::int64_t begin = 0;
    std::int64_t end = 0;
    std::size_t first_span = 0;
  };

  explicit SpanLog(std::size_t reserve_spans = 4096, OnMismatch policy = kDefaultOnMismatch);

  bool run_open() const { return m_run_open; }
  int next_run() const { return m_runs.empty() ? 0 : m_runs.back().run + 1; }
  void begin_run(int run, std::int64_t tick);
  // Closes spans left open at `tick`; returns how many there were.
  int end_run(std::int64_t tick);
  // The caller fills in `begin`; a run must be open.
  Raw& open(std::string_view name, int block);
  // False (or throws, per policy) when nothing is open.
  bool close(std::int64_t tick);
  int depth() const { return static_cast<int>(m_stack.size()); }

  void reserve(std::size_t spans);
  void reserve_runs(int runs);
  // Keeps capacity, interned names and the largest run size, so a warm-up run can be
  // recorded, cleared, and used to size the measured runs with reserve_runs().
  void clear();
  std::size_t largest_run() const { return m_largest_run; }

  // `elapsed_us(from, to)` converts two ticks into microseconds.
  Trace build(TraceContext context,
              const std::function<double(std::int64_t from, std::int64_t to)>& elapsed_us) const;

  const std::vector<Raw>& spans() const { return m_spans; }
  const std::vector<RawRun>& runs() const { return m_runs; }
  const std::string& name(std::uint32_t id) const { return m_names[id]; }
  std::uint32_t intern(std::string_view name);
  int unmatched_ends() const { return m_unmatched_ends; }

 private:
  OnMismatch m_policy = kDefaultOnMismatch;
  std::deque<std::string> m_names;  // deque: the map's keys view these, so they must not move
  std::unordered_map<std::string_view, std::uint32_t> m_ids;
  std::vector<Raw> m_spans;
  std::vector<std::uint32_t> m_stack;  // indices into m_spans
  std::vector<RawRun> m_runs;
  bool m_run_open = false;
  std::size_t m_largest_run = 0;  // spans
  int m_unmatched_ends = 0;
  int m_unclosed_spans = 0;
};

}  // namespace swinscope::profiler
