// The CUDA recorder's NVTX ranges, checked without a GPU or Nsight: an emulated int8 plan
// (Backend::CUDAEmu) runs under profiler::cuda_emu::CudaEventRecorder while a small NVTX
// injection library (tests/nvtx_injection) stands in for the profiler and logs every domain
// call. Each span of the trace must appear as exactly one push/pop pair in domain "SwinScope",
// in order, nested like the spans, named, coloured and tagged with the block index as Nsight
// would show them.
#include <QtTest>

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/plan.h"
#include "engine/stages.h"
#include "profiler/trace.h"

#ifdef SWINSCOPE_HAVE_CUDA_EMU_RECORDER
// The header picks the runtime and namespace from SWINSCOPE_CUDA_EMU (profiler/cuda/cuda_api.h);
// defined for this include only, after every other project header, so nothing else changes.
#define SWINSCOPE_CUDA_EMU 1
#include "profiler/cuda/cuda_event_recorder.h"
#undef SWINSCOPE_CUDA_EMU
#endif

using namespace swinscope;

#ifdef SWINSCOPE_HAVE_CUDA_EMU_RECORDER
namespace {

const std::string kModels = std::string(SWINSCOPE_SOURCE_DIR) + "/assets/models/";
constexpr double kRoundingUs = 1e-3;  // event times are float milliseconds in the runtime

// One line of the injection library's log, split at tabs (format in nvtx_injection.cpp).
using Record = std::vector<std::string>;

std::vector<Record> parse_log(const char* text) {
  std::vector<Record> records;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    Record r;
    std::istringstream fields(line);
    for (std::string f; std::getline(fields, f, '\t');) r.push_back(f);
    records.push_back(std::move(r));
  }
  return records;
}

// QCOMPARE prints QByteArrays on failure, std::strings not at all.
QByteArray q(const std::string& s) { return QByteArray::fromStdString(s); }

struct Injection {
  const char* (*log)() = nullptr;
  void (*clear)() = nullptr;
};

}  // namespace
#endif

class TestNvtx : public QObject {
  Q_OBJECT

#ifdef SWINSCOPE_HAVE_CUDA_EMU_RECORDER
  Injection m_nvtx;

  // Runs `file` once at batch 2 under the emulated recorder and checks the trace against the
  // NVTX calls it made; `trace` is left for model-specific checks (QVERIFY returns on failure,
  // hence void: callers stop on QTest::currentTestFailed()).
  void record_and_check(const Model& model, Variant expected_variant, profiler::Trace& trace) {
    QVERIFY(default_variant(model) == expected_variant);
    auto plan = make_plan(model, PlanOptions{default_variant(model), Backend::CUDAEmu, 2, 0});
    const auto& c = model.config;
    std::vector<float> input(static_cast<std::size_t>(2) * c.in_chans * c.img_size * c.img_size, 0.25f);
    std::vector<float> logits(static_cast<std::size_t>(2) * c.num_classes);

    m_nvtx.clear();
    {
      profiler::cuda_emu::CudaEventRecorder rec(static_cast<sws_emu::cudaStream_t>(plan->native_stream()));
      rec.begin_run(0);
      plan->run(input.data(), 2, logits.data(), &rec);
      rec.end_run();
      trace = rec.take_trace({});
    }  // the destructor destroys the domain
    const std::vector<Record> log = parse_log(m_nvtx.log());

    // The trace itself: one run, no mismatches, times non-negative, children inside parents.
    QCOMPARE(trace.runs.size(), std::size_t{1});
    QVERIFY(!trace.spans.empty());
    QCOMPARE(trace.unmatched_ends, 0);
    QCOMPARE(trace.unclosed_spans, 0);
    std::vector<const profiler::TraceSpan*> open;  // ancestors of the current span (pre-order)
    for (const auto& s : trace.spans) {
      const std::string where = s.name + " (block " + std::to_string(s.block) + ")";
      QVERIFY2(s.dur_us >= 0 && s.start_us >= 0, ("negative time: " + where).c_str());
      QVERIFY2(s.depth >= 0 && s.depth <= static_cast<int>(open.size()), ("depth skips a level: " + where).c_str());
      open.resize(static_cast<std::size_t>(s.depth));
      const double p_start = open.empty() ? 0.0 : open.back()->start_us;
      const double p_end = open.empty() ? trace.runs[0].dur_us : open.back()->start_us + open.back()->dur_us;
      QVERIFY2(s.start_us + kRoundingUs >= p_start && s.start_us + s.dur_us <= p_end + kRoundingUs,
                   ("span outside its parent: " + where).c_str());
      open.push_back(&s);
    }

    // The NVTX calls: the domain once, each distinct name registered once, then per span one
    // push at the span's nesting level, one pop each, and the domain destroyed.
    std::vector<const Record*> pushes;
    std::map<std::string, int> registered;
    int depth = 0, pops = 0, creates = 0, destroys = 0;
    for (const Record& r : log) {
      QVERIFY2(r.size() >= 2 && r[1] == "SwinScope", ("call outside domain SwinScope: " + r[0]).c_str());
      if (r[0] == "create") ++creates;
      else if (r[0] == "destroy") ++destroys;
      else if (r[0] == "string") ++registered[r.size() > 2 ? r[2] : ""];
      else if (r[0] == "pop") ++pops, --depth;
      else if (r[0] == "push") {
        QVERIFY2(r.size() == 8, "push with invalid attributes");
        QVERIFY2(pushes.size() < trace.spans.size(), "more pushes than spans");
        const auto& s = trace.spans[pushes.size()];
        QVERIFY2(depth == s.depth, ("push at the wrong level for " + s.name).c_str());
        pushes.push_back(&r);
        ++depth;
      }
      QVERIFY2(depth >= 0, "pop without a push");
    }
    QCOMPARE(creates, 1);
    QCOMPARE(destroys, 1);
    QCOMPARE(pushes.size(), trace.spans.size());
    QCOMPARE(pops, static_cast<int>(pushes.size()));
    QCOMPARE(depth, 0);
    for (std::size_t i = 0; i < pushes.size(); ++i) {
      const Record& r = *pushes[i];
      const auto& s = trace.spans[i];
      const std::uint32_t want = stage_colour_argb(s.name) ? stage_colour_argb(s.name) : profiler::kind_colour_argb(s.name);
      QCOMPARE(q(r[7]), q(s.name));
      QCOMPARE(q(r[6]), q(std::to_string(NVTX_MESSAGE_TYPE_REGISTERED)));
      QCOMPARE(q(r[4]), q(std::to_string(NVTX_PAYLOAD_TYPE_INT32)));
      QCOMPARE(q(r[5]), q(std::to_string(s.block)));
      QCOMPARE(q(r[2]), q(std::to_string(NVTX_COLOR_ARGB)));
      QCOMPARE(q(r[3]), q(std::to_string(want)));
      QVERIFY2(registered.count(s.name) == 1 && registered[s.name] == 1, ("not registered once: " + s.name).c_str());
    }
    QCOMPARE(registered.size(), profiler::stage_kinds(trace).size());
  }

  // Ranges (NVTX pushes, which equal the spans once record_and_check passed) named `name`, per block.
  static std::map<int, int> count_by_block(const profiler::Trace& trace, std::string_view name) {
    std::map<int, int> n;
    for (const auto& s : trace.spans)
      if (s.name == name) ++n[s.block];
    return n;
  }
#endif

 private slots:
  void initTestCase() {
#ifndef SWINSCOPE_HAVE_CUDA_EMU_RECORDER
    QSKIP("this build has no emulated CUDA recorder (SWINSCOPE_CUDA_EMU=OFF or no NVTX 3 headers)");
#else
    // NVTX resolves its injection library once, on the process's first NVTX call; a variable
    // set after that is never read. No NVTX call has happened yet: nothing constructed a
    // recorder, and the library is not loaded (RTLD_NOLOAD only finds loaded ones).
    QVERIFY(dlopen(SWS_NVTX_INJECTION_PATH, RTLD_LAZY | RTLD_NOLOAD) == nullptr);
    QVERIFY(qputenv("NVTX_INJECTION64_PATH", SWS_NVTX_INJECTION_PATH));
    // The first NVTX call: NVTX now dlopen()s the library (RTLD_LOCAL, so dlsym(RTLD_DEFAULT)
    // would not find its symbols); dlopen of the same path returns that same instance.
    { profiler::cuda_emu::CudaEventRecorder warm(sws_emu::cudaStreamLegacy, 1); }
    void* lib = dlopen(SWS_NVTX_INJECTION_PATH, RTLD_LAZY | RTLD_NOLOAD);
    QVERIFY2(lib != nullptr, "NVTX did not load the injection library");
    m_nvtx.log = reinterpret_cast<const char* (*)()>(dlsym(lib, "sws_nvtx_log"));
    m_nvtx.clear = reinterpret_cast<void (*)()>(dlsym(lib, "sws_nvtx_clear"));
    dlclose(lib);  // drops only our reference; NVTX keeps its own
    QVERIFY(m_nvtx.log && m_nvtx.clear);
    QVERIFY2(std::string(m_nvtx.log()).rfind("create\tSwinScope\n", 0) == 0, m_nvtx.log());
#endif
  }

  // GELU-less (ReLU, no FC1 bias): fc1_bias_gelu_quant is not run, so it has no range.
  // (Slots are declared in every build so moc, which sees the same definitions, agrees; without
  // the recorder initTestCase skips them all.)
  void geluLessModelHasNoGeluRanges() {
#ifdef SWINSCOPE_HAVE_CUDA_EMU_RECORDER
    const Model model = load_model(kModels + "fmnist_swin_relu.int8.safetensors");
    profiler::Trace trace;
    record_and_check(model, Variant::Int8Relu, trace);
    if (QTest::currentTestFailed()) return;
    QVERIFY(count_by_block(trace, "fc1_bias_gelu_quant").empty());
    QCOMPARE(count_by_block(trace, "block").size(), model.activations.size());
    QCOMPARE(count_by_block(trace, "fc1_gemm").size(), model.activations.size());
#endif
  }

  // GELU: one fc1_bias_gelu_quant range in every block.
  void geluModelHasOneGeluRangePerBlock() {
#ifdef SWINSCOPE_HAVE_CUDA_EMU_RECORDER
    const Model model = load_model(kModels + "fmnist_swin_gelu.int8.safetensors");
    profiler::Trace trace;
    record_and_check(model, Variant::Int8Gelu, trace);
    if (QTest::currentTestFailed()) return;
    const auto gelu = count_by_block(trace, "fc1_bias_gelu_quant");
    QCOMPARE(gelu.size(), model.activations.size());
    for (const auto& [block, n] : gelu) QCOMPARE(n, 1);
#endif
  }
};

QTEST_APPLESS_MAIN(TestNvtx)
#include "test_nvtx.moc"
