// info, init and average: looking at models, making random ones, averaging trained ones.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/error.h"
#include "engine/safetensors.h"

namespace swinscope::cli {

namespace {

std::string human_bytes(std::uint64_t b) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  if (b >= (1ull << 30)) o << b / double(1ull << 30) << " GiB";
  else if (b >= (1ull << 20)) o << b / double(1ull << 20) << " MiB";
  else if (b >= 1024) o << b / 1024.0 << " KiB";
  else o << b << " B";
  return o.str();
}

std::string join(const std::vector<int>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return "[" + s + "]";
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  Args args("info", "Show a model's configuration, parameter count, precision, activation per block, metadata and\n"
                    "(with --tensors) every tensor. Reads SwinScope files and plain timm, Microsoft, Hugging Face\n"
                    "and torchvision checkpoints; values not stored in the file are inferred and marked as such.",
            {{"--tensors", "", "list every tensor of the file with dtype and shape", ""},
             {"--img-size", "N", "input size for a checkpoint without metadata or config.json", "224"},
             {"--json", "", "print one JSON document instead of text", ""},
             {"--plan", "", "build the plan (--backend, --variant, --tf32, --batch) and name the kernel behind every stage", ""},
             {"--backend", "auto|cpu|cuda|cuda-emu", "with --plan: where the plan is built", "auto"},
             {"--variant", "NAME", "with --plan: fp32 | fp16 | int8-gelu | int8-relu", "what the file holds"},
             {"--tf32", "", "with --plan: CUDA fp32 GEMMs on TF32 tensor cores", ""},
             {"--fused-attention", "", "with --plan: CUDA int8 stages 4-6 as one window_attention kernel", ""},
             {"--gemm", "auto|cublaslt|own|tune", "with --plan: where the CUDA int8 block GEMMs run (tune lists each timed choice)", "auto"},
             {"--own-gemm", "", "with --plan: shorthand for --gemm own", ""},
             {"--batch", "N", "with --plan: the batch size the plan is built for", "1"}},
            "MODEL.safetensors", "example: swinscope-cli info --plan --backend cuda assets/models/fmnist_swin_relu.int8.safetensors");
  if (!args.parse(argv)) return kOk;
  if (args.positional().size() != 1) throw UsageError("swinscope-cli info: expects exactly one MODEL file (see --help)");
  const std::filesystem::path path = args.positional()[0];
  LoadOptions lo;
  if (args.get("--img-size")) lo.img_size = args.get_int("--img-size", 224, 8, 4096);
  const Model m = load_model(path, lo);
  const auto& c = m.config;
  std::vector<StageKernel> plan_kernels;
  std::string plan_line;
  if (args.flag("--plan")) {
    const std::string request = args.get_or("--backend", "auto");
    const auto choice = choose_backend(request);
    if (!choice.notice.empty()) std::cerr << "note: " << choice.notice << "\n";
    PlanOptions po;
    po.variant = args.get("--variant") ? parse_variant(*args.get("--variant")) : default_variant(m);
    po.backend = choice.backend;
    po.max_batch = args.get_int("--batch", 1, 1, 4096);
    po.tf32 = args.flag("--tf32");
    po.fused_attention = args.flag("--fused-attention");
    po.gemm = gemm_policy(args);
    const auto plan = make_plan(m, po);
    plan_kernels = plan->kernels();
    plan_line = std::string(variant_name(plan->variant())) + " on " + std::string(backend_name(plan->backend())) + " (" +
                choice.device + "), batch " + std::to_string(po.max_batch);
  }
  if (args.flag("--json")) {
    nlohmann::json j;
    j["file"] = path.string();
    j["file_size"] = m.file_size;
    j["layout"] = std::string(layout_name(m.layout));
    j["config"] = nlohmann::json::parse(c.to_json());
    j["parameters"] = c.parameter_count();
    j["precision"] = m.precision;
    std::vector<std::string> acts;
    for (auto a : m.activations) acts.emplace_back(activation_name(a));
    j["activations"] = acts;
    for (const auto& v : variant_support(m))
      j["variants"].push_back({{"variant", std::string(variant_name(v.variant))}, {"runs", v.runs}, {"note", v.note}});
    j["classes"] = m.classes;
    j["preprocess"] = nlohmann::json::parse(m.preprocess.to_json());
    j["metadata"] = m.metadata;
    j["inferred"] = m.inferred;
    j["ignored_tensors"] = m.ignored;
    if (!plan_line.empty()) {
      j["plan"]["summary"] = plan_line;
      for (const auto& k : plan_kernels) j["plan"]["kernels"].push_back({{"stage", k.stage}, {"kernel", k.kernel}});
    }
    if (args.flag("--tensors")) {
      const auto f = SafetensorsFile::open(path);
      for (const auto& t : f.tensors()) j["tensors"].push_back({{"name", t.name}, {"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}});
    }
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  std::cout << "file:          " << path.string() << " (" << human_bytes(m.file_size) << ", " << layout_name(m.layout) << " layout)\n"
            << "architecture:  " << c.name << ": img " << c.img_size << ", patch " << c.patch_size << ", in_chans " << c.in_chans
            << ", embed_dim " << c.embed_dim << ", depths " << join(c.depths) << ", heads " << join(c.num_heads) << ", window "
            << c.window_size << ", mlp_ratio " << c.mlp_ratio << "\n"
            << "parameters:    " << c.parameter_count() << "\n"
            << "precision:     " << m.precision << "\n"
            << "activation:    " << m.activation_summary() << "\n"
            << "classes:       " << c.num_classes;
  if (!m.classes.empty()) std::cout << " (" << m.classes.front() << " … " << m.classes.back() << ")";
  std::cout << "\n";
  {  // what the file runs as, and (among the same precision's variants) what not and why
    std::string runs, nots;
    for (const auto& v : variant_support(m)) {
      const std::string name(variant_name(v.variant));
      if (v.runs) runs += (runs.empty() ? "" : ", ") + name + " (" + v.note + ")";
      else if (m.is_int8() == (v.variant != Variant::FP32 && v.variant != Variant::FP16))
        nots += "               not " + name + ": " + v.note + "\n";
    }
    std::cout << "variants:      " << runs << "\n" << nots;
  }
  std::cout << "preprocess:    resize " << m.preprocess.resize << " → crop " << m.preprocess.crop << ", "
            << m.preprocess.interpolation << ", " << m.preprocess.channels << " channel(s)\n";
  std::cout << "blocks:\n";
  int g = 0;
  for (int s = 0; s < c.num_stages(); ++s)
    for (int b = 0; b < c.depths[s]; ++b, ++g)
      std::cout << "  " << std::setw(2) << g << "  stage " << s << " block " << b << "  res " << c.stage_resolution(s) << "  dim "
                << c.stage_dim(s) << "  window " << c.stage_window(s) << "  shift " << c.stage_shift(s, b) << "  "
                << activation_name(m.activations[static_cast<std::size_t>(g)])
                << (m.has_fc1_bias(g) ? "" : "  (no fc1 bias)") << "\n";
  if (!m.inferred.empty()) {
    std::cout << "inferred (not stored in the file):\n";
    for (const auto& s : m.inferred) std::cout << "  " << s << "\n";
  }
  if (!m.ignored.empty()) std::cout << "ignored tensors: " << m.ignored.size() << " (first: " << m.ignored.front() << ")\n";
  if (!m.metadata.empty()) {
    std::cout << "metadata:\n";
    for (const auto& [k, v] : m.metadata) std::cout << "  " << k << " = " << (v.size() > 120 ? v.substr(0, 117) + "..." : v) << "\n";
  }
  if (args.flag("--tensors")) {
    const auto f = SafetensorsFile::open(path);
    std::cout << "tensors (" << f.tensors().size() << "):\n";
    for (const auto& t : f.tensors()) {
      std::cout << "  " << t.name << "  " << dtype_name(t.dtype) << " [";
      for (std::size_t i = 0; i < t.shape.size(); ++i) std::cout << (i ? ", " : "") << t.shape[i];
      std::cout << "]\n";
    }
  }
  if (!plan_line.empty()) {
    std::cout << "plan:          " << plan_line << "\n";
    for (const auto& k : plan_kernels) std::cout << "  " << std::left << std::setw(24) << k.stage << " " << k.kernel << "\n";
  }
  return kOk;
}

int cmd_init(const std::vector<std::string>& argv) {
  Args args("init", "Write a SWIN model with random weights (timm's initialisation) for latency work on the real sizes.\n"
                    "GELU-less (--activation relu) models are written without FC1 biases, as the paper removes them.",
            {{"--arch", "NAME|CONFIG.json", "swin_tiny | swin_small | swin_base | swin_large, or a JSON config file", ""},
             {"--activation", "gelu|relu", "MLP activation of every block", "gelu"},
             {"--num-classes", "N", "classifier outputs", "1000"},
             {"--img-size", "N", "input resolution", "224"},
             {"--seed", "S", "random seed", "0"},
             {"--out", "FILE", "output .safetensors (written to a temporary name, then renamed)", ""}},
            "", "example: swinscope-cli init --arch swin_tiny --activation relu --out swin_t_relu.safetensors");
  if (!args.parse(argv)) return kOk;
  const std::string arch = args.require("--arch");
  const std::string out = args.require("--out");
  SwinConfig cfg = config_from_arch(arch);
  if (args.get("--num-classes")) cfg.num_classes = args.get_int("--num-classes", 1000, 1, 1000000);
  if (args.get("--img-size")) cfg.img_size = args.get_int("--img-size", 224, 8, 4096);
  const std::string act = args.get_or("--activation", "gelu");
  if (act != "gelu" && act != "relu") throw UsageError("swinscope-cli init: --activation must be gelu or relu, found '" + act + "'");
  const auto seed = static_cast<std::uint64_t>(args.get_long("--seed", 0, 0, std::numeric_limits<long>::max()));
  const Model m = init_random_model(cfg, act == "gelu" ? Activation::GELU : Activation::ReLU, seed);
  save_model(m, out);
  std::cout << "wrote " << out << ": " << cfg.name << ", " << cfg.parameter_count() << " parameters, " << act << ", "
            << cfg.num_classes << " classes, seed " << seed << "\n";
  return kOk;
}

int cmd_average(const std::vector<std::string>& argv) {
  Args args("average",
            "Average the weights of FP32 models of one architecture, tensor by tensor (a uniform \"model soup\",\n"
            "Wortsman et al. 2022). It helps where the models lie in one basin: the end of a training run and a short\n"
            "fine-tune of it (the bundled Fashion-MNIST teacher: 91.06 % from 90.81 % and 90.89 %); two runs trained\n"
            "separately from scratch usually do not (55.7 % from two 90.8 % teachers). Activations, FC1 biases,\n"
            "classes and preprocessing must match; the output keeps the first model's metadata.",
            {{"--out", "FILE", "output .safetensors (written to a temporary name, then renamed)", ""}, force_option()}, "MODEL MODEL [MODEL ...]",
            "example: swinscope-cli average run.safetensors finetuned.safetensors --out soup.safetensors");
  if (!args.parse(argv)) return kOk;
  const std::string out = args.require("--out");
  const auto& files = args.positional();
  if (files.size() < 2) throw UsageError("swinscope-cli average: give at least two models to average");
  check_output_path(out, files, args.flag("--force"));
  std::vector<Model> models;
  for (const auto& f : files) {
    models.push_back(load_model(f));
    if (models.back().is_int8())
      throw Error(f + ": an int8 model; average the FP32 models, then quantize the result");
  }
  const Model& first = models.front();
  for (std::size_t i = 1; i < models.size(); ++i) {
    const Model& m = models[i];
    const std::string why = m.config.to_json() != first.config.to_json()         ? "architecture"
                            : m.activations != first.activations               ? "activations"
                            : m.classes != first.classes                         ? "class names"
                            : m.preprocess.to_json() != first.preprocess.to_json() ? "preprocessing"
                                                                                 : "";
    if (!why.empty())
      throw Error(files[i] + ": its " + why + " do not match " + files[0] + "'s; only models of one architecture average");
    if (m.tensors.size() != first.tensors.size())
      throw Error(files[i] + ": " + std::to_string(m.tensors.size()) + " tensors, " + files[0] + " has " +
                  std::to_string(first.tensors.size()) + " (FC1 biases present in one only?)");
    for (const auto& [name, t] : first.tensors) {
      const FloatTensor* o = m.find(name);
      if (!o) throw Error(files[i] + ": no tensor " + name + " (" + files[0] + " has it)");
      if (o->shape != t.shape) throw Error(files[i] + ": " + name + " has another shape than in " + files[0]);
    }
  }
  Model avg = first;
  const double n = static_cast<double>(models.size());
  for (auto& [name, t] : avg.tensors) {
    std::vector<double> sum(t.data.size(), 0.0);
    for (const auto& m : models) {
      const auto& d = m.tensor(name).data;
      for (std::size_t j = 0; j < d.size(); ++j) sum[j] += d[j];
    }
    for (std::size_t j = 0; j < sum.size(); ++j) t.data[j] = static_cast<float>(sum[j] / n);
  }
  save_model(avg, out);
  std::cout << "wrote " << out << ": the average of " << models.size() << " models, " << avg.tensors.size() << " tensors, "
            << avg.activation_summary() << "\n";
  return kOk;
}

}  // namespace swinscope::cli
