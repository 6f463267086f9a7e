#pragma once
// The CUDA backend checked against the CPU reference, stage by stage and end to end — the body
// of `swinscope-cli selftest` and of tests/test_backend_ops (ggml's test-backend-ops is the
// model). Every stage case runs the CPU's plain loops (cpu::int8::Impl::Plain, the readable
// reference) and the CUDA launcher on the same random inputs; CUDA outputs are poisoned
// before each run and guarded by sentinels. Built twice, like the plans: swinscope::cuda
// (a real GPU) and swinscope::cuda_emu (device emulation).
#include <string>
#include <vector>

#include "engine/plan.h"

namespace swinscope {

struct SelftestRow {
  std::string stage;      // engine/stages.h name, or "forward"
  std::string shape;      // the case: "swin_tiny stage 0, batch 1, shift 3"
  double max_error = 0;   // in `unit`
  double tolerance = 0;
  std::string unit;       // "int8 steps", "normalized", "exact"
  bool pass = false;
  std::string detail;     // e.g. "sentinel overwritten", "12 of 150528 outputs differ by 1"
};

struct SelftestOptions {
  bool swin_tiny_shapes = true;       // also the SWIN-T stage shapes (slower under emulation)
  std::vector<std::string> models;    // int8 model files for the end-to-end comparison
  int forward_batch = 4;
  unsigned seed = 1;
};

}  // namespace swinscope

namespace swinscope::cuda {
std::vector<SelftestRow> run_selftest(const SelftestOptions& opts);
}
namespace swinscope::cuda_emu {
std::vector<SelftestRow> run_selftest(const SelftestOptions& opts);
}
