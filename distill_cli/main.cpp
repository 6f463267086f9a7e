// swinscope-cli: model inspection, inference, evaluation and benchmarks for integer SWIN.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "distill_cli/args.h"
#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/atomic_file.h"
#include "engine/error.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
};

const Command kCommands[] = {
    {"info", "show a model's architecture, precision, activations, metadata and tensors", swinscope::cli::cmd_info},
    {"init", "write a SWIN model with random weights (latency work on the real sizes)", swinscope::cli::cmd_init},
    {"classify", "top-k classes for image files or folders", swinscope::cli::cmd_classify},
    {"eval", "top-1 / top-5 accuracy on an ImageFolder or a flat folder with labels", swinscope::cli::cmd_eval},
    {"compare", "two models on one dataset: 2x2 right/wrong table, McNemar's exact test, flipped images", swinscope::cli::cmd_compare},
    {"numerics", "per-block, per-stage int8 error (SQNR in dB) against the FP32 source model", swinscope::cli::cmd_numerics},
    {"train", "train a SWIN teacher from scratch on a small dataset (libtorch)", swinscope::cli::cmd_train},
    {"distill", "the paper's Algorithm 1: GELU → ReLU block by block with knowledge distillation", swinscope::cli::cmd_distill},
    {"launch", "start N local data-parallel workers of train or distill (torchrun's conventions)", swinscope::cli::cmd_launch},
    {"average", "average the weights of FP32 models of one architecture (a model soup)", swinscope::cli::cmd_average},
    {"quantize", "post-training quantization: calibrate an FP32 model, write the int8 model", swinscope::cli::cmd_quantize},
    {"bench", "end-to-end latency and throughput (median of timed runs after warm-up)", swinscope::cli::cmd_bench},
    {"profile", "per-stage and per-block latency (the paper's Table 1), traces for Perfetto", swinscope::cli::cmd_profile},
    {"profile-diff", "stage-by-stage deltas and ratios between two or more traces (e.g. GELU vs ReLU, or the four int8 variants)", swinscope::cli::cmd_profile_diff},
    {"selftest", "check the CUDA backend (or cuda-emu) against the CPU reference, stage by stage", swinscope::cli::cmd_selftest},
};

void usage(std::ostream& o) {
  o << "usage: swinscope-cli COMMAND [options]   (swinscope-cli COMMAND --help for its options)\n\n"
       "SwinScope: integer SWIN transformers with and without GELU (arXiv 2402.01169).\n\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string n = c.name;
    n.resize(14, ' ');
    o << "  " << n << c.summary << "\n";
  }
  o << "\nexit codes: 0 success, 1 runtime failure, 2 bad arguments or bad input files, 130 / 143 interrupted by\n"
       "SIGINT / SIGTERM (the temporary files being written are removed; finished checkpoints stay)\n";
}

// SIGINT / SIGTERM: remove the temporaries being written (a model or a checkpoint half
// written) and exit 128 + signal, as a shell reports a process killed by it. The checkpoints
// already renamed into place stay. Only async-signal-safe calls here.
extern "C" void on_terminate(int sig) {
  swinscope::remove_live_temporaries();
  static const char kInt[] = "\nswinscope-cli: interrupted (SIGINT); temporary files removed\n";
  static const char kTerm[] = "\nswinscope-cli: terminated (SIGTERM); temporary files removed\n";
  if (sig == SIGINT) (void)!::write(STDERR_FILENO, kInt, sizeof kInt - 1);
  else (void)!::write(STDERR_FILENO, kTerm, sizeof kTerm - 1);
  ::_exit(128 + sig);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_terminate;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM}) {
    // An ignored signal (nohup, a shell's background job) stays ignored.
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &sa, nullptr);
  }
}

}  // namespace

int main(int argc, char** argv) {
  install_signal_handlers();
  if (argc < 2) {
    usage(std::cerr);
    return swinscope::cli::kBadInput;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(std::cout);
    return 0;
  }
  const std::vector<std::string> rest(argv + 2, argv + argc);
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(rest);
    } catch (const swinscope::cli::UsageError& e) {
      std::cerr << e.what() << "\n";
      return swinscope::cli::kBadInput;
    } catch (const swinscope::Error& e) {
      std::cerr << "error: " << e.what() << "\n";
      return e.kind() == swinscope::Error::Kind::BadInput ? swinscope::cli::kBadInput : swinscope::cli::kRuntimeFailure;
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return swinscope::cli::kRuntimeFailure;
    }
  }
  std::cerr << "swinscope-cli: unknown command '" << name << "'\n\n";
  usage(std::cerr);
  return swinscope::cli::kBadInput;
}
