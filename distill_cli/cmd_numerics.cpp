// numerics: per-block, per-stage int8 error — the SQNR of every intermediate tensor of a model
// against its FP32 source (or any other model of the same architecture), on a few images.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/dataset_source.h"
#include "engine/error.h"
#include "engine/quant_error.h"
#include "engine/quantize.h"

namespace swinscope::cli {

namespace {

std::string db_text(double db) {
  if (std::isnan(db)) return "-";
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << db;
  return o.str();
}

// JSON has no infinity: +inf (identical tensors) is written as the string "inf".
nlohmann::json db_json(double db) {
  if (std::isnan(db)) return nullptr;
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  return db;
}

nlohmann::json sum_json(const SqnrSum& s) {
  return {{"sqnr_db", db_json(s.db())}, {"signal", s.signal}, {"noise", s.noise}, {"elements", s.elements}};
}

}  // namespace

int cmd_numerics(const std::vector<std::string>& argv) {
  std::string points_help;
  for (const auto& p : sqnr_points())
    points_help += "  " + std::string(p.column) + std::string(9 - std::string(p.column).size(), ' ') + p.what + " [" + p.stage + "]\n";
  const std::vector<OptionSpec> opts{
      {"--model", "FILE", "the model to measure, usually the int8 one (.safetensors)", ""},
      {"--reference", "FILE", "what it is measured against, usually its FP32 source; any model of the same architecture; "
                              "'dequantized': the int8 model's own weights dequantized to float (activation error only)", ""},
      {"--data", "DATA", "ImageFolder, flat folder (with --labels), an IDX images file or a folder of IDX files", ""},
      {"--labels", "FILE", "labels file for a flat folder", ""},
      {"--images", "N", "images to run, evenly spaced over the dataset", "8"},
      {"--variant", "NAME", "the int8 model's CPU plan: int8-gelu / int8-relu, or int8-ivit (integer-only: its codes "
                            "dequantized; qkv, proj and fc2 outputs, and GELU blocks' fc1 before its bias, which it never forms, stay empty)",
       "the file's default"},
      {"--json", "", "print one JSON document (every block and stage, signal and noise energies) instead of the table", ""}};
  Args args("numerics",
            "Where int8 quantization loses precision: the signal-to-quantization-noise ratio (SQNR) of every\n"
            "block's intermediate tensors, --model against --reference, on a few images:\n"
            "\n"
            "  SQNR = 10 log10( sum ref^2 / sum (ref - test)^2 )  dB   (over all elements of all images)\n"
            "\n"
            "Higher is better: 40 dB means the error's energy is 1/10000 of the signal's; every 6 dB is about\n"
            "one bit. An int8 model runs its CPU int8 plan and each tensor is dequantized (q * scale); an FP32\n"
            "model runs the float reference walk that calibration observes. Both sides give each tensor in\n"
            "the same layout (window or token order), checked by size. A model against itself gives inf.\n"
            "Without the FP32 source at hand, --reference dequantized runs the float walk on the int8 file's\n"
            "weights dequantized (q * scale): what quantizing the activations alone costs.\n"
            "\n"
            "Columns, per block (in forward order):\n" +
                points_help +
                "  added    SQNR of the noise the block itself adds to the residual stream: sum out^2 / (noise out -\n"
                "           noise in), assuming new and incoming errors are uncorrelated. The lowest is the 'worst'\n"
                "           block: the first place to look (keep it in higher precision, recalibrate it).\n"
                "GEMM outputs are before their bias. A GELU-less (ReLU) model against a GELU reference compares\n"
                "fc1 after the ReLU with fc1 before GELU: read its fc1 column with that in mind.",
            opts, "",
            "example: swinscope-cli numerics --model assets/models/fmnist_swin_gelu.int8.safetensors \\\n"
            "           --reference assets/models/fmnist_swin_gelu.fp32.safetensors \\\n"
            "           --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz\n"
            "         swinscope-cli numerics --model M.int8.safetensors --reference M.fp32.safetensors --data DIR --json");
  if (!args.parse(argv)) return kOk;
  const std::string model_path = args.require("--model");
  const std::string ref_path = args.require("--reference");
  const std::string data_arg = args.require("--data");
  std::optional<std::filesystem::path> labels;
  if (auto v = args.get("--labels")) labels = *v;
  const int images = args.get_int("--images", 8, 1, 100000);
  std::optional<Variant> variant;
  if (auto v = args.get("--variant")) variant = parse_variant(*v);
  const DatasetSource source = check_dataset_source(data_arg, labels);  // before any model is loaded

  const Model test = load_model(model_path);
  Model ref;
  if (ref_path == "dequantized") {
    ref = dequantize_model(test);  // throws naming the file when it is not int8
    ref.path = test.path.string() + " (dequantized)";
  } else {
    ref = load_model(ref_path);
  }
  const Dataset data = open_dataset_source(source, test.classes);
  for (const auto& n : data.notes) std::cerr << "note: " << n << "\n";
  ProgressBar bar("numerics");
  const SqnrReport r = measure_sqnr(test, ref, data, images, [&](const Progress& p) { bar.update(p); }, variant);
  bar.finish();
  const int worst = r.worst_block();
  const auto& points = sqnr_points();

  if (args.flag("--json")) {
    nlohmann::json j{{"model", r.test_path},       {"reference", r.reference_path}, {"model_kind", r.test_kind},
                     {"reference_kind", r.reference_kind}, {"data", data_arg},        {"images", r.images},
                     {"sqnr", "10 log10(sum ref^2 / sum (ref - test)^2) dB; \"inf\": identical"},
                     {"worst_block", worst},       {"patch_embed", sum_json(r.patch_embed)}, {"logits", sum_json(r.logits)}};
    j["blocks"] = nlohmann::json::array();
    for (const auto& b : r.blocks) {
      nlohmann::json row{{"block", b.global},
                         {"prefix", b.prefix},
                         {"activation", b.activation_test},
                         {"reference_activation", b.activation_ref},
                         {"added_db", db_json(b.added_db())}};
      nlohmann::json st = nlohmann::json::object();
      for (std::size_t k = 0; k < points.size(); ++k)
        if (!b.cells[k].empty()) {
          st[points[k].column] = sum_json(b.cells[k]);
          st[points[k].column]["stage"] = points[k].stage;
        }
      row["stages"] = st;
      j["blocks"].push_back(row);
    }
    j["merges"] = nlohmann::json::object();
    for (const auto& [name, s] : r.merges) j["merges"][name] = sum_json(s);
    std::cout << j.dump(2) << "\n";
    return kOk;
  }

  std::cout << "model:     " << r.test_path << " (" << r.test_kind << ")\n"
            << "reference: " << r.reference_path << " (" << r.reference_kind << ")\n"
            << "data:      " << source.name << ", " << r.images << " image(s)\n"
            << "SQNR in dB (higher is better; inf = identical)\n\n";
  std::cout << "block  act  ";
  for (const auto& p : points) std::cout << std::setw(8) << p.column;
  std::cout << std::setw(8) << "added" << "\n";
  for (const auto& b : r.blocks) {
    std::cout << std::setw(3) << b.global << (b.global == worst ? "*" : " ") << "  " << std::left << std::setw(5)
              << b.activation_test << std::right;
    for (const auto& c : b.cells) std::cout << std::setw(8) << (c.empty() ? "-" : db_text(c.db()));
    std::cout << std::setw(8) << db_text(b.added_db()) << (b.global == worst ? "  <- worst" : "") << "\n";
  }
  std::cout << "\npatch_embed.output (the stream entering block 0): " << db_text(r.patch_embed.db()) << " dB\n";
  for (const auto& [name, s] : r.merges) std::cout << name << ": " << db_text(s.db()) << " dB\n";
  std::cout << "logits: " << db_text(r.logits.db()) << " dB\n";
  if (worst >= 0)
    std::cout << "worst block: " << worst << " (" << r.blocks[static_cast<std::size_t>(worst)].prefix << "), adding noise at "
              << db_text(r.blocks[static_cast<std::size_t>(worst)].added_db()) << " dB\n";
  else
    std::cout << "no block adds noise: the two models compute the same tensors\n";
  return kOk;
}

}  // namespace swinscope::cli
