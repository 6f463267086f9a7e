// selftest: the CUDA backend against the CPU reference, stage by stage and end to end, as a
// table — so a user with a new GPU (or CI, under device emulation) sees that the engine is right.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/cuda/selftest.h"
#include "engine/error.h"

namespace swinscope::cli {

int cmd_selftest(const std::vector<std::string>& argv) {
  Args args("selftest",
            "Check the CUDA backend against the CPU reference: every fused op and GEMM of the int8 plans on\n"
            "random inputs (golden-config and SWIN-T shapes; outputs poisoned, sentinels after them), then the\n"
            "whole forward of each MODEL against the CPU plan (int8 models: their int8 plan, and int8-ivit bit for\n"
            "bit when the file holds its ranges; float models: fp32, tf32 and fp16). Prints stage, case, max\n"
            "error, tolerance.\n"
            "--backend cuda needs a GPU; cuda-emu runs the same kernels under device emulation on the CPU.",
            {{"--backend", "cuda|cuda-emu", "the CUDA backend to check", "cuda"},
             {"--model", "FILE", "a model for the end-to-end rows (more as positional arguments): an int8 model runs its int8 "
              "plan (and int8-ivit), a float model fp32, tf32 and fp16", "the bundled assets/models/*.safetensors when found"},
             {"--quick", "", "skip the SWIN-T shapes (much faster under emulation)", ""},
             {"--batch", "N", "images per end-to-end forward", "4"},
             {"--seed", "N", "random inputs", "1"},
             {"--json", "", "print the rows as JSON", ""}},
            "[MODEL...]", "example: swinscope-cli selftest --backend cuda-emu --quick");
  if (!args.parse(argv)) return kOk;
  const std::string backend = args.get_or("--backend", "cuda");
  SelftestOptions o;
  o.swin_tiny_shapes = !args.flag("--quick");
  o.forward_batch = args.get_int("--batch", 4, 1, 256);
  o.seed = static_cast<unsigned>(args.get_int("--seed", 1, 0, 1 << 30));
  if (auto m = args.get("--model")) o.models.push_back(*m);
  for (const auto& p : args.positional()) o.models.push_back(p);
  if (o.models.empty())
    for (const char* f : {"assets/models/fmnist_swin_gelu.fp32.safetensors", "assets/models/fmnist_swin_gelu.int8.safetensors",
                          "assets/models/fmnist_swin_relu.int8.safetensors"})
      if (std::filesystem::exists(f)) o.models.push_back(f);
  std::vector<SelftestRow> rows;
  std::string device;
  if (backend == "cuda-emu") {
#ifdef SWINSCOPE_HAVE_CUDA_EMU
    device = "device emulation on the CPU";
    rows = cuda_emu::run_selftest(o);
#else
    throw Error("selftest --backend cuda-emu: this build has no device emulation (-DSWINSCOPE_CUDA_EMU=ON)", Error::Kind::Runtime);
#endif
  } else if (backend == "cuda") {
    const auto choice = choose_backend("cuda");  // throws with the reason when no device is usable
    device = choice.device;
#ifdef SWINSCOPE_HAVE_CUDA
    rows = cuda::run_selftest(o);
#endif
  } else {
    throw UsageError("selftest: --backend must be cuda or cuda-emu, not '" + backend + "'");
  }
  int failed = 0;
  for (const auto& r : rows) failed += !r.pass;
  if (args.flag("--json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows)
      j.push_back({{"stage", r.stage}, {"case", r.shape}, {"max_error", r.max_error}, {"tolerance", r.tolerance},
                   {"unit", r.unit}, {"pass", r.pass}, {"detail", r.detail}});
    std::cout << nlohmann::json{{"backend", backend}, {"device", device}, {"rows", j}, {"failed", failed}}.dump(2) << "\n";
  } else {
    std::cout << "selftest: CUDA backend (" << backend << ", " << device << ") vs CPU reference\n";
    std::cout << std::left << std::setw(44) << "stage" << std::setw(52) << "case" << std::right << std::setw(11) << "max error"
              << std::setw(11) << "tolerance" << "  " << std::left << std::setw(12) << "unit" << "result\n";
    for (const auto& r : rows) {
      std::ostringstream e, t;
      e << std::setprecision(3) << r.max_error;
      t << std::setprecision(3) << r.tolerance;
      std::cout << std::left << std::setw(44) << r.stage << std::setw(52) << r.shape << std::right << std::setw(11) << e.str()
                << std::setw(11) << t.str() << "  " << std::left << std::setw(12) << r.unit << (r.pass ? "pass" : "FAIL")
                << (r.detail.empty() ? "" : "  (" + r.detail + ")") << "\n";
    }
    std::cout << rows.size() - static_cast<std::size_t>(failed) << " passed, " << failed << " failed\n";
  }
  return failed ? kRuntimeFailure : kOk;
}

}  // namespace swinscope::cli
