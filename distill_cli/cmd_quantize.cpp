// quantize: post-training quantization of a float SWIN model to SwinScope's int8 format.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/dataset.h"
#include "engine/error.h"
#include "engine/preprocess.h"
#include "engine/quantize.h"

namespace swinscope::cli {

namespace {

std::string mib(std::uint64_t bytes) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return o.str();
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& argv) {
  Args args("quantize",
            "Post-training quantization: runs the float model over calibration images, collects the range (amax) of\n"
            "every tensor an int8 GEMM reads or writes, quantizes the GEMM weights (symmetric int8) and writes an int8\n"
            "model with its scales and a swinscope.calibration record. Each block keeps its activation: GELU blocks\n"
            "become the FasterTransformer pipeline (int8-gelu), ReLU blocks the GELU-less one (int8-relu); a ReLU block\n"
            "must have no (or a zero) FC1 bias. Calibration images: an image folder (searched recursively; ImageFolder\n"
            "works as it is), a flat folder with --labels (only the listed images), or `random` for N(0,1) inputs\n"
            "(latency work on models from `init`). --images of them are drawn in an order shuffled by --seed.\n"
            "The file also records the ranges the integer-only variant int8-ivit needs (residual stream, attention\n"
            "logits, ...). Given an int8 --model instead (quantized before int8-ivit existed, its float source gone),\n"
            "quantize adds just those ranges, calibrated on its dequantized weights, and leaves the rest unchanged.",
            {{"--model", "FILE", "float model .safetensors (SwinScope, timm, Microsoft, Hugging Face or torchvision), or an int8 one "
              "to add int8-ivit's ranges to", ""},
             {"--calib", "DIR|FILE|random",
              "calibration images: a folder (labels not needed), an IDX images file, or random N(0,1) inputs", ""},
             {"--labels", "FILE", "labels file of a flat folder (`name label` lines): calibrate on the listed images", ""},
             {"--images", "N", "calibration images", "88, as in FasterTransformer's SWIN recipe"},
             {"--method", "max|percentile|mse", "activation range: running max, or from a 2048-bin histogram", "percentile"},
             {"--percentile", "P", "for --method percentile", "99.99"},
             {"--weights", "per-tensor|per-channel", "weight scales", "per-tensor"},
             {"--seed", "S", "image order (or random inputs)", "0"},
             {"--batch", "N", "images per forward pass", "8"},
             {"--threads", "N", "CPU threads", "one per core"},
             {"--img-size", "N", "input size for a checkpoint without SwinScope metadata or config.json", "224"},
             {"--out", "FILE", "output int8 .safetensors (written to a temporary name, then renamed)", ""},
             force_option()},
            "",
            "example: swinscope-cli quantize --model swin_t_relu.safetensors --calib /data/imagenet/train --images 88 \\\n"
            "           --out swin_t_relu.int8.safetensors");
  if (!args.parse(argv)) return kOk;
  const std::string model_path = args.require("--model");
  const std::string calib = args.require("--calib");
  const std::string out = args.require("--out");
  check_output_path(out, {model_path}, args.flag("--force"));
  QuantizeOptions opts;
  try {
    opts.method = parse_calibration_method(args.get_or("--method", "percentile"));
    opts.weights = parse_weight_quant(args.get_or("--weights", "per-tensor"));
  } catch (const Error& e) {
    throw UsageError("swinscope-cli quantize: " + std::string(e.what()));
  }
  opts.percentile = args.get_double("--percentile", 99.99);
  if (!(opts.percentile > 0 && opts.percentile <= 100))
    throw UsageError("swinscope-cli quantize: --percentile must be in (0, 100], found " + args.get_or("--percentile", ""));
  const long images = args.get_long("--images", 88, 1, 10000000);
  opts.seed = static_cast<std::uint64_t>(args.get_long("--seed", 0, 0, std::numeric_limits<long>::max()));
  const int batch = args.get_int("--batch", 8, 1, 4096);
  opts.threads = args.get_int("--threads", 0, 0, 1024);
  const bool random = calib == "random";
  if (random && args.get("--labels")) throw UsageError("swinscope-cli quantize: --labels makes no sense with --calib random");

  LoadOptions lo;
  if (args.get("--img-size")) lo.img_size = args.get_int("--img-size", 224, 8, 4096);
  const Model loaded = load_model(model_path, lo);
  // An int8 file: add the integer-only variant's ranges it lacks, calibrated on its dequantized
  // weights (its own weights and ranges stay as they are).
  const bool add_ivit = loaded.is_int8();
  const Model model = add_ivit ? dequantize_model(loaded) : loaded;
  check_quantizable(model);
  const auto& c = model.config;

  // Calibration images: labelled or not, files or IDX data; taken in a seeded random order.
  Dataset data;
  std::vector<std::size_t> order;
  if (!random) {
    if (auto labels = args.get("--labels")) {
      data = open_dataset(calib, std::filesystem::path(*labels), model.classes);
    } else if (is_idx_images_file(calib) ||
               (std::filesystem::is_directory(calib) && !find_idx_sets(calib).empty() && expand_image_paths({calib}).empty())) {
      data = open_dataset(calib, std::nullopt, model.classes);
    } else {
      if (!std::filesystem::is_directory(calib))
        throw Error(calib + ": --calib must be a folder of images, an IDX images file, or `random`");
      for (auto& p : expand_image_paths({calib})) data.images.push_back({p, -1, -1});
    }
    if (data.images.empty()) throw Error(calib + ": no images found for calibration");
    order.resize(data.images.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::mt19937_64 rng(opts.seed);
    std::shuffle(order.begin(), order.end(), rng);
  }
  const long wanted = random ? images : std::min<long>(images, static_cast<long>(order.size()));
  if (!random && wanted < images)
    std::cerr << "note: " << calib << " has " << order.size() << " images; calibrating on all of them\n";

  Calibrator cal(model, opts);
  const std::size_t per = static_cast<std::size_t>(c.in_chans) * c.img_size * c.img_size;
  std::vector<float> input(per * static_cast<std::size_t>(batch));
  std::size_t next = 0;
  long done = 0, skipped = 0;
  ProgressBar bar("calibrate");
  const auto t0 = std::chrono::steady_clock::now();
  while (done < wanted) {
    int n = 0;
    const int want = static_cast<int>(std::min<long>(batch, wanted - done));
    if (random) {
      const auto r = random_input(c, want, static_cast<unsigned>(opts.seed + static_cast<std::uint64_t>(done)));
      std::copy(r.begin(), r.end(), input.begin());
      n = want;
    } else {
      while (n < want && next < order.size()) {
        try {
          preprocess_dataset_image(data, order[next], model.preprocess, input.data() + per * static_cast<std::size_t>(n));
          ++n;
        } catch (const Error& e) {
          std::cerr << "skipped: " << e.what() << "\n";
          ++skipped;
        }
        ++next;
      }
      if (n == 0) break;  // the list ran out
    }
    cal.observe(input.data(), n);
    done += n;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bar.update({done, wanted, done / std::max(secs, 1e-9), secs / static_cast<double>(done) * static_cast<double>(wanted - done)});
  }
  bar.finish();
  if (done == 0) throw Error(calib + ": none of the calibration images could be decoded");
  if (done < wanted) std::cerr << "note: " << skipped << " images could not be decoded; calibrated on " << done << "\n";

  opts.images = done;
  opts.data = random ? "random N(0,1)" : std::filesystem::absolute(calib).lexically_normal().string();
  const Model q = add_ivit ? with_ivit_ranges(loaded, cal.amax()) : quantize_model(model, cal.amax(), opts);
  save_model(q, out);
  if (add_ivit) {
    std::cout << "wrote " << out << ": " << model_path << " with the " << ivit_amax_names(c).size()
              << " ranges variant int8-ivit needs, calibrated on its dequantized weights over " << done
              << (random ? " random inputs" : " images") << "; its int8 weights and ranges unchanged\n";
    return kOk;
  }
  const auto out_size = std::filesystem::file_size(out);
  std::cout << "wrote " << out << ": int8, " << model.activation_summary() << ", weights " << weight_quant_name(opts.weights)
            << ", activations " << calibration_method_name(opts.method);
  if (opts.method == CalibrationMethod::Percentile) std::cout << " " << opts.percentile;
  std::cout << " over " << done << (random ? " random inputs" : " images") << "\n"
            << "  " << int8_linear_names(c).size() << " int8 GEMM weights, " << int8_amax_names(c).size()
            << " activation ranges; " << mib(out_size) << " (float model file: " << mib(model.file_size) << ")\n";
  return kOk;
}

}  // namespace swinscope::cli
