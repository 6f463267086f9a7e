// compare: two models on one labelled dataset, image by image — the 2×2 correct/wrong table,
// McNemar's exact test, and the images where they disagree.
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/dataset_source.h"
#include "engine/error.h"
#include "profiler/significance.h"

namespace swinscope::cli {

namespace {

struct Side {
  std::string path;
  Loaded loaded;
  Dataset data;
  EvalResult result;
};

std::string class_name(const std::vector<std::string>& names, int i) {
  if (i < 0) return "-";
  return static_cast<std::size_t>(i) < names.size() ? names[static_cast<std::size_t>(i)] : std::to_string(i);
}

std::string pct(double x) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << 100.0 * x << " %";
  return o.str();
}

}  // namespace

int cmd_compare(const std::vector<std::string>& argv) {
  auto opts = plan_options();
  const std::vector<OptionSpec> own{
      {"--model", "FILE", "model .safetensors; give it twice: --model A --model B", ""},
      {"--data", "DATA", "ImageFolder, flat folder (with --labels), an IDX images file or a folder of IDX files", ""},
      {"--labels", "FILE", "labels file for a flat folder", ""},
      {"--batch", "N", "images per forward pass", "32"},
      {"--limit", "N", "compare only the first N images (dataset order)", "all"},
      {"--json", "", "print one JSON document (table, p-value, every disagreement) instead of text", ""}};
  opts.insert(opts.begin(), own.begin(), own.end());
  Args args("compare",
            "Two classifiers on the same images, image by image: the 2x2 table of right/wrong, each model's\n"
            "accuracy, McNemar's exact test, and every image where their top-1 predictions differ.\n"
            "\n"
            "Why a test: two models evaluated once on one test set differ by chance too. McNemar's test looks\n"
            "only at the discordant images (one model right, the other wrong): if A and B were equally\n"
            "accurate, each such image would be A's with probability 1/2. p = 2 P(X <= min(b, c)) for\n"
            "X ~ Binomial(b + c, 1/2). A small p (say < 0.05) says the accuracies differ; a large one says\n"
            "this test set cannot tell them apart (not that they are equal).",
            opts, "",
            "example: swinscope-cli compare --model assets/models/fmnist_swin_gelu.int8.safetensors \\\n"
            "           --model assets/models/fmnist_swin_relu.int8.safetensors --data assets/samples\n"
            "         swinscope-cli compare --model A.safetensors --model B.safetensors \\\n"
            "           --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --json > ab.json");
  if (!args.parse(argv)) return kOk;
  const auto models = args.get_all("--model");
  if (models.size() != 2)
    throw UsageError("swinscope-cli compare: give exactly two models, --model A --model B (found " + std::to_string(models.size()) +
                     "; see --help)");
  const std::string data_arg = args.require("--data");
  std::optional<std::filesystem::path> labels;
  if (auto v = args.get("--labels")) labels = *v;
  const int batch = args.get_int("--batch", 32, 1, 4096);
  const long limit = args.get_long("--limit", 0, 0, std::numeric_limits<long>::max());
  // The dataset is checked before any model is loaded: a typo costs nothing.
  const DatasetSource source = check_dataset_source(data_arg, labels);

  Side side[2];
  for (int s = 0; s < 2; ++s) {
    side[s].path = models[static_cast<std::size_t>(s)];
    side[s].loaded = load_file_for_inference(args, side[s].path, batch);
    side[s].data = open_dataset_source(source, side[s].loaded.model->classes);
    if (auto w = class_count_mismatch(side[s].data, side[s].loaded.model->classes, (s == 0 ? "A (" : "B (") + side[s].path + ")"))
      std::cerr << "warning: " << *w << "\n";
  }
  for (const auto& n : side[0].data.notes) std::cerr << "note: " << n << "\n";
  std::cerr << "dataset: " << side[0].data.images.size() << " images, " << side[0].data.layout << "\n";
  for (int s = 0; s < 2; ++s) {
    ProgressBar bar(s == 0 ? "A" : "B");
    side[s].result = evaluate(*side[s].loaded.plan, *side[s].loaded.model, side[s].data, batch, limit,
                              [&](const Progress& p) { bar.update(p); });
    bar.finish();
  }

  // Images are matched by path (the two models may order a dataset differently when their class
  // lists differ), classes by name.
  std::map<std::string, std::size_t> in_b;
  for (std::size_t i = 0; i < side[1].result.predicted.size(); ++i)
    if (side[1].result.predicted[i] >= 0) in_b.emplace(side[1].data.images[i].path.string(), i);
  const auto& names_a = side[0].loaded.model->classes;
  const auto& names_b = side[1].loaded.model->classes;
  std::vector<bool> right_a, right_b;
  struct Flip {
    std::size_t index;
    std::string path, truth, a, b, right;
  };
  std::vector<Flip> flips;
  for (std::size_t i = 0; i < side[0].result.predicted.size(); ++i) {
    const int pa = side[0].result.predicted[i];
    if (pa < 0) continue;
    const auto& item = side[0].data.images[i];
    auto it = in_b.find(item.path.string());
    if (it == in_b.end()) continue;
    const int pb = side[1].result.predicted[it->second];
    const std::string truth = class_name(names_a, item.label);
    const std::string a = class_name(names_a, pa), b = class_name(names_b, pb);
    const bool ra = pa == item.label;
    const bool rb = pb == side[1].data.images[it->second].label;
    right_a.push_back(ra);
    right_b.push_back(rb);
    if (a != b) flips.push_back({i, item.path.string(), truth, a, b, ra ? "A" : (rb ? "B" : "neither")});
  }
  const auto table = profiler::mcnemar_table(right_a, right_b);
  const double p = profiler::mcnemar_exact_p(table);
  if (table.total() == 0) throw Error("no image was classified by both models (see the skipped images above)");

  if (args.flag("--json")) {
    auto model_json = [&](int s) {
      return nlohmann::json{{"model", side[s].path},
                            {"variant", std::string(variant_name(side[s].loaded.plan->variant()))},
                            {"classes", side[s].loaded.model->classes.size()},
                            {"evaluated", side[s].result.evaluated},
                            {"skipped", side[s].result.skipped.size()}};
    };
    nlohmann::json j{{"a", model_json(0)},
                     {"b", model_json(1)},
                     {"data", data_arg},
                     {"layout", side[0].data.layout},
                     {"backend", std::string(backend_name(side[0].loaded.backend.backend))},
                     {"device", side[0].loaded.backend.device},
                     {"images", table.total()},
                     {"table", {{"both_correct", table.both_correct}, {"a_only", table.a_only}, {"b_only", table.b_only},
                                {"both_wrong", table.both_wrong}}},
                     {"accuracy_a", table.accuracy_a()},
                     {"accuracy_b", table.accuracy_b()},
                     {"mcnemar_exact_p", p}};
    j["a"]["accuracy"] = table.accuracy_a();
    j["b"]["accuracy"] = table.accuracy_b();
    j["flipped"] = nlohmann::json::array();
    for (const auto& f : flips)
      j["flipped"].push_back({{"index", f.index}, {"path", f.path}, {"true", f.truth}, {"a", f.a}, {"b", f.b}, {"right", f.right}});
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  auto cell = [](long v) {
    std::ostringstream o;
    o << std::setw(10) << v;
    return o.str();
  };
  std::cout << "A: " << side[0].path << " (" << variant_name(side[0].loaded.plan->variant()) << ")\n"
            << "B: " << side[1].path << " (" << variant_name(side[1].loaded.plan->variant()) << ")\n"
            << "dataset: " << source.name << ", " << side[0].data.layout << ", " << table.total() << " images both classified\n\n"
            << "                B right   B wrong\n"
            << "  A right    " << cell(table.both_correct) << cell(table.a_only) << "\n"
            << "  A wrong    " << cell(table.b_only) << cell(table.both_wrong) << "\n\n"
            << "top-1 accuracy: A " << pct(table.accuracy_a()) << ", B " << pct(table.accuracy_b()) << "\n";
  std::cout << "McNemar exact test on " << table.discordant() << " discordant image(s) (A only right: " << table.a_only
            << ", B only right: " << table.b_only << "): p = " << std::setprecision(4) << std::defaultfloat << p << "\n"
            << (p < 0.05 ? "  the two models differ in accuracy on this test set (p < 0.05)\n"
                         : "  this test set cannot tell the two accuracies apart (p >= 0.05)\n");
  std::cout << "\nimages where A and B predict different classes: " << flips.size() << "\n";
  if (!flips.empty()) std::cout << "  index  true class -> A / B  (right)  path\n";
  for (const auto& f : flips)
    std::cout << "  " << std::setw(5) << f.index << "  " << f.truth << " -> " << f.a << " / " << f.b << "  (" << f.right << ")  " << f.path
              << "\n";
  return kOk;
}

}  // namespace swinscope::cli
