#pragma once
// Pieces shared by the subcommands: model + plan set-up with the backend notice, the
// progress bar, and exit codes.
#include <filesystem>
#include <memory>
#include <string>

#include "distill_cli/args.h"
#include "engine/evaluate.h"
#include "engine/model.h"
#include "engine/plan.h"

namespace swinscope::cli {

enum ExitCode { kOk = 0, kRuntimeFailure = 1, kBadInput = 2 };

// Options every inference command shares.
std::vector<OptionSpec> plan_options();
// The --force option of the commands that write a model.
OptionSpec force_option();
// --gemm (and its shorthand --own-gemm) of the plan options.
GemmPolicy gemm_policy(const Args& args);

// Checked before any work (issue 14, items 5 and 6): `out` is not empty, not a folder, its folder
// exists and is writable, and it is not one of `inputs` (same file by device and inode, whatever
// the spelling) unless `force`. Throws UsageError / Error naming the path.
// Last, it removes the stale temporaries of `out` (see remove_stale_temporaries_noting).
void check_output_path(const std::string& out, const std::vector<std::string>& inputs, bool force);

// Removes `*.tmp.<pid>` files in `dir` (with `only_name`: that file's only) whose process is
// gone (a kill -9 or a crash during a write), saying so on stderr (issue 14, item 7).
void remove_stale_temporaries_noting(const std::filesystem::path& dir, const std::string& only_name = {});

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Plan> plan;
  BackendChoice backend;
};
// Loads --model (or builds --arch with random weights when allow_arch), picks the backend
// (printing the CPU-fallback notice to stderr), builds the plan for `max_batch`.
Loaded load_for_inference(const Args& args, int max_batch, bool allow_arch);
// The same for one model file of several (`compare --model A --model B`), with the plan
// options (--backend, --variant, --threads, ...) of `args`.
Loaded load_file_for_inference(const Args& args, const std::string& model_path, int max_batch);

// A one-line progress bar on stderr: redrawn in place on a terminal, a line every 10%
// otherwise (so logs stay readable).
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  void update(const Progress& p, const std::string& extra = {});
  void finish();

 private:
  std::string m_label;
  bool m_tty = false;
  int m_last_decile = -1;
  bool m_drawn = false;
};

std::string format_seconds(double s);

// --arch: a SwinConfig JSON file (any path that exists or ends in .json) or a preset name.
// Throws swinscope::Error naming the file or the unknown preset.
SwinConfig config_from_arch(const std::string& arch);

// N(0,1) input of `batch` images for the model's config: timing needs no real images.
std::vector<float> random_input(const SwinConfig& config, int batch, unsigned seed);

}  // namespace swinscope::cli
