#pragma once
// The only profiler interface the engine sees. Spans nest: run → block → stage.
// `block` is -1 outside the transformer blocks (patch_embed, head, ...).
#include <string_view>

namespace swinscope::profiler {

class Recorder {
 public:
  virtual ~Recorder() = default;
  virtual void begin(std::string_view stage, int block) = 0;
  virtual void end() = 0;
};

// RAII span; a null recorder costs one branch.
class Span {
 public:
  Span(Recorder* r, std::string_view stage, int block) : m_r(r) {
    if (m_r) m_r->begin(stage, block);
  }
  ~Span() {
    if (m_r) m_r->end();
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

 private:
  Recorder* m_r = nullptr;
};

}  // namespace swinscope::profiler
