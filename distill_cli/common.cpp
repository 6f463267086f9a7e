#include "distill_cli/common.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/stages.h"

namespace swinscope::cli {

std::vector<OptionSpec> plan_options() {
  return {
      {"--backend", "auto|cpu|cuda|cuda-emu",
       "where to run; auto uses CUDA when a device is usable, else the CPU. "
       "cuda-emu runs the CUDA kernels under device emulation on the CPU: a testing aid, slow, timings meaningless",
       "auto"},
      {"--variant", "NAME", "fp32 | fp16 | int8-gelu | int8-relu | int8-gelu-fused | int8-ivit (int8 needs an int8 model file; "
       "fp16 and int8-gelu-fused run on CUDA only; int8-ivit, integer-only after I-ViT, on the CPU and CUDA; `info` lists what "
       "a file runs)",
       "fp32 for a float model; int8-gelu or int8-relu for an int8 one, by its activations"},
      {"--threads", "N", "CPU threads", "one per core"},
      {"--tf32", "", "CUDA fp32: TF32 tensor cores for the GEMMs (about 1e-3 relative error)", "strict FP32"},
      {"--fused-attention", "", "CUDA int8: qk_gemm + softmax + av_gemm as one window_attention kernel (same results)", "off"},
      {"--gemm", "auto|cublaslt|own|tune",
       "CUDA int8: where the block GEMMs run. cublaslt: cuBLASLt + the separate ops; own: SwinScope's int8 tensor-core "
       "GEMM (sm_80+) with ReLU fused into FC1; tune: per shape the fastest of both (and of the own GEMM's tiles), "
       "timed at plan build; `info --plan` lists each choice with its timings",
       "auto: tune on a GPU, cublaslt under cuda-emu"},
      {"--own-gemm", "", "shorthand for --gemm own", ""},
      {"--img-size", "N", "input size for a checkpoint without SwinScope metadata or config.json", "224"},
  };
}

GemmPolicy gemm_policy(const Args& args) {
  if (args.flag("--own-gemm")) {
    if (args.get("--gemm") && *args.get("--gemm") != "own")
      throw UsageError("swinscope-cli: --own-gemm contradicts --gemm " + *args.get("--gemm"));
    return GemmPolicy::Own;
  }
  return parse_gemm_policy(args.get_or("--gemm", "auto"));
}

OptionSpec force_option() {
  return {"--force", "", "allow --out to name an input file (it is then replaced)", "refuse"};
}

void check_output_path(const std::string& out, const std::vector<std::string>& inputs, bool force) {
  namespace fs = std::filesystem;
  if (out.empty()) throw UsageError("swinscope-cli: --out is empty: give the file to write");
  std::error_code ec;
  const fs::path p(out);
  if (fs::is_directory(p, ec)) throw Error(out + ": --out names a folder; give a file name inside it");
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) throw Error(out + ": the folder " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw Error(out + ": the folder " + dir.string() + " is not writable");
  if (!force)
    for (const auto& in : inputs)
      if (fs::exists(p, ec) && fs::equivalent(p, in, ec) && !ec)
        throw Error(out + ": --out is the input " + in + " (same file); writing it would replace the input. Choose another "
                    "--out, or pass --force to replace it");
  remove_stale_temporaries_noting(dir, p.filename().string());
}

void remove_stale_temporaries_noting(const std::filesystem::path& dir, const std::string& only_name) {
  for (const auto& t : remove_stale_temporaries(dir, only_name))
    std::cerr << "note: removed " << t.path.string() << ", a temporary file left by process " << t.pid
              << ", which is gone (killed or crashed while writing)\n";
}

namespace {

// Backend, variant and plan for a loaded model, from the shared plan options of `args`.
void build_plan(const Args& args, Loaded& l, int max_batch) {
  const std::string request = args.get_or("--backend", "auto");
  l.backend = choose_backend(request);
  PlanOptions po;
  // Without --variant the file decides: fp32 for a float model, int8-gelu / int8-relu for
  // an int8 one by its activations.
  po.variant = args.get("--variant") ? parse_variant(*args.get("--variant")) : default_variant(*l.model);
  if (!l.backend.notice.empty()) std::cerr << "note: " << l.backend.notice << "\n";
  po.backend = l.backend.backend;
  po.max_batch = max_batch;
  po.threads = args.get_int("--threads", 0, 0, 1024);
  po.tf32 = args.flag("--tf32");
  po.fused_attention = args.flag("--fused-attention");
  po.gemm = gemm_policy(args);
  l.plan = make_plan(*l.model, po);
}

LoadOptions load_options(const Args& args) {
  LoadOptions lo;
  if (auto v = args.get("--img-size")) lo.img_size = args.get_int("--img-size", 224, 8, 4096);
  return lo;
}

}  // namespace

Loaded load_for_inference(const Args& args, int max_batch, bool allow_arch) {
  register_stage_colours();  // traces and NVTX ranges use the engine's stage colours
  Loaded l;
  const LoadOptions lo = load_options(args);
  if (auto m = args.get("--model")) {
    l.model = std::make_unique<Model>(load_model(*m, lo));
  } else if (allow_arch && args.get("--arch")) {
    SwinConfig cfg = SwinConfig::preset(*args.get("--arch"));
    if (lo.img_size) cfg.img_size = *lo.img_size;
    l.model = std::make_unique<Model>(init_random_model(cfg, Activation::GELU, 0));
  } else {
    throw UsageError(allow_arch ? "--model FILE or --arch NAME is required (see --help)" : "--model FILE is required (see --help)");
  }
  build_plan(args, l, max_batch);
  return l;
}

Loaded load_file_for_inference(const Args& args, const std::string& model_path, int max_batch) {
  register_stage_colours();
  Loaded l;
  l.model = std::make_unique<Model>(load_model(model_path, load_options(args)));
  build_plan(args, l, max_batch);
  return l;
}

ProgressBar::ProgressBar(std::string label) : m_label(std::move(label)), m_tty(isatty(STDERR_FILENO) != 0) {}

std::string format_seconds(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void ProgressBar::update(const Progress& p, const std::string& extra) {
  const double frac = p.total > 0 ? static_cast<double>(p.done) / p.total : 1.0;
  char line[256];
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, '.');
  std::snprintf(line, sizeof line, "%s [%s] %ld/%ld  %.1f img/s  ETA %s%s%s", m_label.c_str(), bar.c_str(), p.done, p.total,
                p.images_per_s, format_seconds(p.eta_s).c_str(), extra.empty() ? "" : "  ", extra.c_str());
  if (m_tty) {
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
    m_drawn = true;
  } else {
    const int decile = static_cast<int>(frac * 10);
    if (decile != m_last_decile) {
      std::cerr << line << "\n";
      m_last_decile = decile;
    }
  }
}

std::vector<float> random_input(const SwinConfig& c, int batch, unsigned seed) {
  std::vector<float> input(static_cast<std::size_t>(batch) * c.in_chans * c.img_size * c.img_size);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  for (auto& v : input) v = nd(rng);
  return input;
}

SwinConfig config_from_arch(const std::string& arch) {
  std::error_code ec;
  const bool is_file = std::filesystem::exists(arch, ec) ||
                       (arch.size() > 5 && arch.compare(arch.size() - 5, 5, ".json") == 0);
  if (!is_file) return SwinConfig::preset(arch);
  std::ifstream in(arch);
  if (!in) throw Error(arch + ": cannot open config file (" + std::generic_category().message(errno) + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return SwinConfig::from_json(ss.str());
  } catch (const Error& e) {
    throw Error(arch + ": " + e.what());
  }
}

void ProgressBar::finish() {
  if (m_tty && m_drawn) std::cerr << "\n";
  m_drawn = false;
}

}  // namespace swinscope::cli
