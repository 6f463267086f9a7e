// classify, eval and bench: running models.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/dataset_source.h"
#include "engine/error.h"
#include "profiler/export.h"

namespace swinscope::cli {

namespace {

std::vector<OptionSpec> with_plan_options(std::vector<OptionSpec> own) {
  auto p = plan_options();
  own.insert(own.end(), p.begin(), p.end());
  return own;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int cmd_classify(const std::vector<std::string>& argv) {
  Args args("classify", "Top-k classes with names and probabilities for each image (files or folders, recursed).\n"
                        "Images that cannot be decoded are reported with the reason and skipped.",
            with_plan_options({{"--model", "FILE", "model .safetensors", ""},
                               {"--topk", "K", "classes per image", "5"},
                               {"--batch", "N", "images per forward pass", "8"},
                               {"--json", "", "print one JSON document: per image the top-k index, name, probability, logit", ""}}),
            "IMAGE|FOLDER...", "example: swinscope-cli classify --model assets/models/fmnist_swin_relu.int8.safetensors assets/samples");
  if (!args.parse(argv)) return kOk;
  // The numeric options first: `--topk IMG` (a missing value) is reported as --topk's error.
  const int topk = args.get_int("--topk", 5, 1, 1000000);
  const int batch = args.get_int("--batch", 8, 1, 4096);
  if (args.positional().empty()) throw UsageError("swinscope-cli classify: no images given (see --help)");
  std::vector<std::filesystem::path> inputs(args.positional().begin(), args.positional().end());
  std::vector<std::string> notes;
  const auto images = expand_image_paths(inputs, &notes);
  for (const auto& n : notes) std::cerr << "note: " << n << "\n";
  if (images.empty()) throw Error("no images found in the given paths");
  auto l = load_for_inference(args, std::min<int>(batch, static_cast<int>(images.size())), false);
  const auto r = classify_images(*l.plan, *l.model, images, topk, batch);
  if (args.flag("--json")) {
    nlohmann::json j;
    j["model"] = args.require("--model");
    j["backend"] = std::string(backend_name(l.backend.backend));
    j["device"] = l.backend.device;
    j["images"] = nlohmann::json::array();
    for (const auto& p : r.predictions) {
      nlohmann::json e{{"path", p.path.string()}, {"top", nlohmann::json::array()}};
      for (const auto& t : p.top) e["top"].push_back({{"index", t.index}, {"name", t.name}, {"probability", t.probability}, {"logit", t.logit}});
      j["images"].push_back(e);
    }
    j["skipped"] = nlohmann::json::array();
    for (const auto& s : r.skipped) j["skipped"].push_back({{"path", s.path.string()}, {"reason", s.reason}});
    std::cout << j.dump(2) << "\n";
  } else {
    for (const auto& p : r.predictions) {
      std::cout << p.path.string() << "\n";
      for (const auto& t : p.top)
        std::cout << "  " << std::fixed << std::setprecision(4) << t.probability << "  " << std::setw(4) << t.index << "  " << t.name << "\n";
    }
    for (const auto& s : r.skipped) std::cerr << "skipped: " << s.reason << "\n";
  }
  if (r.predictions.empty()) return kBadInput;
  return kOk;
}

int cmd_eval(const std::vector<std::string>& argv) {
  Args args("eval", "Top-1 / top-5 accuracy and throughput on a labelled dataset:\n"
                    "  DIR is an ImageFolder (one folder per class; sorted order, or synset folder names matched\n"
                    "  against the model's class names), or a flat folder with --labels FILE of `name label` lines\n"
                    "  (label: class index or class name), or Fashion-MNIST's IDX files (an images file, or their folder:\n"
                    "  its test set). Undecodable images are skipped, counted and listed. A model whose class count\n"
                    "  differs from the dataset's is warned about before the run.",
            with_plan_options({{"--model", "FILE", "model .safetensors", ""},
                               {"--data", "DATA", "ImageFolder, flat folder (with --labels), or an IDX images file (Fashion-MNIST)", ""},
                               {"--labels", "FILE", "labels file for a flat folder", ""},
                               {"--batch", "N", "images per forward pass", "32"},
                               {"--limit", "N", "evaluate only the first N images (dataset order)", "all"},
                               {"--json", "FILE", "also write the results as JSON to FILE", ""}}),
            "", "example: swinscope-cli eval --model M.safetensors --data /data/imagenet/val --batch 32");
  if (!args.parse(argv)) return kOk;
  const std::string data_dir = args.require("--data");
  std::optional<std::filesystem::path> labels;
  if (auto v = args.get("--labels")) labels = *v;
  const int batch = args.get_int("--batch", 32, 1, 4096);
  const long limit = args.get_long("--limit", 0, 0, std::numeric_limits<long>::max());
  // The dataset is checked before the model is loaded (the app runs the same check).
  const DatasetSource source = check_dataset_source(data_dir, labels);
  auto l = load_for_inference(args, batch, false);
  const Dataset data = open_dataset_source(source, l.model->classes);
  for (const auto& n : data.notes) std::cerr << "note: " << n << "\n";
  if (auto w = class_count_mismatch(data, l.model->classes, args.require("--model"))) std::cerr << "warning: " << *w << "\n";
  std::cerr << "dataset: " << data.images.size() << " images, " << data.layout << "\n";
  ProgressBar bar("eval");
  const auto r = evaluate(*l.plan, *l.model, data, batch, limit, [&](const Progress& p) { bar.update(p); });
  bar.finish();
  std::cout << std::fixed << std::setprecision(2) << "evaluated: " << r.evaluated << " images\n"
            << "top-1:     " << 100.0 * r.top1() << " %\n"
            << "top-5:     " << 100.0 * r.top5() << " %\n"
            << "images/s:  " << std::setprecision(1) << r.images_per_s << " (" << l.backend.device << ")\n"
            << "skipped:   " << r.skipped.size() << "\n";
  for (const auto& s : r.skipped) std::cout << "  " << s.reason << "\n";
  if (auto jpath = args.get("--json")) {
    nlohmann::json j{{"model", args.require("--model")},
                     {"data", data_dir},
                     {"layout", data.layout},
                     {"evaluated", r.evaluated},
                     {"top1", r.top1()},
                     {"top5", r.top5()},
                     {"images_per_s", r.images_per_s},
                     {"seconds", r.seconds},
                     {"backend", std::string(backend_name(l.backend.backend))},
                     {"device", l.backend.device},
                     {"variant", std::string(variant_name(l.plan->variant()))}};
    j["skipped"] = nlohmann::json::array();
    for (const auto& s : r.skipped) j["skipped"].push_back({{"path", s.path.string()}, {"reason", s.reason}});
    nlohmann::json per_class = nlohmann::json::array();
    for (std::size_t c = 0; c < r.per_class_total.size(); ++c)
      if (r.per_class_total[c] > 0)
        per_class.push_back({{"class", l.model->classes[c]}, {"total", r.per_class_total[c]}, {"correct", r.per_class_correct[c]}});
    j["per_class"] = per_class;
    profiler::write_file_atomically(*jpath, j.dump(2) + "\n");
  }
  return r.evaluated > 0 ? kOk : kBadInput;
}

int cmd_bench(const std::vector<std::string>& argv) {
  Args args("bench", "End-to-end latency of the forward pass on random input: warm-up runs, then timed runs; prints\n"
                     "the median, min and throughput, and the peak resident memory of the process.",
            with_plan_options({{"--model", "FILE", "model .safetensors", ""},
                               {"--arch", "NAME", "instead of --model: random weights of a preset (swin_tiny, ...)", ""},
                               {"--batch", "N", "images per forward pass", "8"},
                               {"--runs", "N", "timed runs", "7"},
                               {"--warmup", "N", "untimed runs first", "2"},
                               {"--json", "", "print JSON", ""}}),
            "", "example: swinscope-cli bench --arch swin_tiny --batch 8 --threads 2");
  if (!args.parse(argv)) return kOk;
  const int batch = args.get_int("--batch", 8, 1, 4096);
  const int runs = args.get_int("--runs", 7, 1, 100000);
  const int warmup = args.get_int("--warmup", 2, 0, 100000);
  auto l = load_for_inference(args, batch, true);
  const auto& c = l.model->config;
  const auto input = random_input(c, batch, 1);
  std::vector<float> logits(static_cast<std::size_t>(batch) * c.num_classes);
  for (int i = 0; i < warmup; ++i) l.plan->run(input.data(), batch, logits.data());
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    l.plan->run(input.data(), batch, logits.data());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double med = median(ms);
  const double peak_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  if (args.flag("--json")) {
    nlohmann::json j{{"impl", "swinscope"}, {"model", args.get("--model") ? *args.get("--model") : *args.get("--arch")},
                     {"variant", std::string(variant_name(l.plan->variant()))}, {"backend", std::string(backend_name(l.backend.backend))},
                     {"device", l.backend.device}, {"batch", batch}, {"median_ms", med},
                     {"min_ms", *std::min_element(ms.begin(), ms.end())}, {"images_per_s", 1000.0 * batch / med},
                     {"runs_ms", ms}, {"peak_rss_mib", peak_mib}};
    for (const auto& k : l.plan->kernels()) j["kernels"][k.stage] = k.kernel;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << std::fixed << std::setprecision(2) << "device:     " << l.backend.device << "\n"
              << "batch:      " << batch << ", " << warmup << " warm-up + " << runs << " timed runs\n"
              << "median:     " << med << " ms  (min " << *std::min_element(ms.begin(), ms.end()) << " ms)\n"
              << "throughput: " << std::setprecision(1) << 1000.0 * batch / med << " images/s\n"
              << "peak RSS:   " << peak_mib << " MiB\n"
              << "kernels:\n";
    for (const auto& k : l.plan->kernels()) std::cout << "  " << k.stage << ": " << k.kernel << "\n";
  }
  return kOk;
}

}  // namespace swinscope::cli
