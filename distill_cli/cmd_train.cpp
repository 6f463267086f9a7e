// train and distill: the libtorch side of swinscope-cli (distill_cli/torch/).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/error.h"

#ifdef SWINSCOPE_HAVE_TORCH
#include "distill_cli/torch/train.h"
#endif

namespace swinscope::cli {

#ifndef SWINSCOPE_HAVE_TORCH

namespace {
int no_torch(const char* what) {
  throw Error(std::string("swinscope-cli ") + what +
                  ": this build has no libtorch (install Debian's libtorch-dev, or pass -DTorch_DIR=..., and rebuild)",
              Error::Kind::Runtime);
}
}  // namespace
int cmd_train(const std::vector<std::string>&) { return no_torch("train"); }
int cmd_distill(const std::vector<std::string>&) { return no_torch("distill"); }

#else

namespace {

namespace fs = std::filesystem;
using train::Augment;

std::vector<OptionSpec> data_options() {
  return {{"--data", "DATA", "training data: ImageFolder, flat folder (with --labels), or an IDX images file", ""},
          {"--labels", "FILE", "`name label` lines for a flat --data folder", ""},
          {"--val", "DATA", "validation data (same forms as --data): top-1 after every epoch / block", ""},
          {"--val-labels", "FILE", "labels file for a flat --val folder", ""},
          {"--val-limit", "N", "validate on the first N images only (0: all)", "0"},
          {"--pad", "N", "augmentation: random translation by up to ±N pixels (slows early training a lot)", "0"},
          {"--no-flip", "", "augmentation: no random horizontal mirroring", ""},
          {"--no-augment", "", "no augmentation at all", ""},
          {"--seed", "N", "seed for data order, augmentation and initialisation: a run repeats exactly", "0"},
          {"--workers", "N", "image-decoding threads", "2"},
          {"--threads", "N", "libtorch compute threads (0: libtorch's default)", "0"},
          {"--device", "cpu|cuda|auto", "where to train (cuda needs a CUDA build of libtorch)", "auto"},
          {"--checkpoint-dir", "DIR", "write a checkpoint there after every epoch / block", ""},
          {"--resume", "", "continue the run saved in --checkpoint-dir (same options; any number of workers)", ""},
          {"--dist-backend", "gloo|nccl", "data parallelism (under `swinscope-cli launch` or torchrun: RANK, WORLD_SIZE,\n"
                                          "MASTER_ADDR, MASTER_PORT): the c10d backend", "nccl for --device cuda, else gloo"},
          {"--dist-timeout", "SECONDS", "data parallelism: how long a rank waits for the others (rendezvous, every\n"
                                        "all-reduce) before it stops with an error", "60"},
          {"--dist-overlap", "on|off", "data parallelism: all-reduce each gradient bucket while backward still runs\n"
                                       "(off: all buckets after backward; the results are identical)", "on"}};
}

std::optional<fs::path> opt_path(const Args& a, const char* name) {
  if (auto v = a.get(name)) return fs::path(*v);
  return std::nullopt;
}

Augment parse_augment(const Args& a, int crop) {
  Augment g;
  g.enabled = !a.flag("--no-augment");
  g.hflip = !a.flag("--no-flip");
  g.pad = a.get_int("--pad", 0, 0, crop);
  return g;
}

// libtorch's default thread count unless told otherwise: on the 2-core development machine
// Debian's libtorch picks one intra-op thread (its OpenBLAS has its own), and forcing two
// made an epoch 1.5x slower (68 s vs 45 s on 15,000 Fashion-MNIST images).
void set_threads(const Args& a) {
  const int t = a.get_int("--threads", 0, 0, 1024);
  if (t > 0) torch::set_num_threads(t);
}

// The process group of a data-parallel run (world 1 when started alone: every operation a
// no-op). Made before the data is read, so every rank meets the others early.
std::unique_ptr<train::DataParallel> data_parallel(const Args& a, const torch::Device& device) {
  const train::DistEnv env = train::dist_env_from_environment();
  const std::string backend = a.get_or("--dist-backend", device.is_cuda() ? "nccl" : "gloo");
  const int timeout = a.get_int("--dist-timeout", 60, 1, 7 * 24 * 3600);
  const std::string overlap = a.get_or("--dist-overlap", "on");
  if (overlap != "on" && overlap != "off")
    throw UsageError("swinscope-cli: --dist-overlap must be on or off, not '" + overlap + "'");
  auto dp = std::make_unique<train::DataParallel>(env, backend, std::chrono::seconds(timeout));
  dp->overlap = overlap == "on";
  return dp;
}

// "" alone; ", 2 workers (gloo)" in a data-parallel run.
std::string workers_note(const train::DataParallel& dp) {
  return dp.distributed() ? ", " + std::to_string(dp.world()) + " data-parallel workers" : std::string();
}

// After a data-parallel run, rank 0 reports what the gradient all-reduce cost.
void write_comm_stats(const train::DataParallel& dp) {
  const auto& c = dp.stats();
  if (!dp.distributed() || !dp.is_main() || c.steps == 0) return;
  std::cerr << std::fixed << std::setprecision(2) << "data-parallel: " << dp.world() << " workers, " << c.steps
            << " steps, gradient all-reduce " << 1e3 * c.seconds / static_cast<double>(c.steps) << " ms/step ("
            << static_cast<double>(c.bytes) / static_cast<double>(c.steps) / 1e6 << " MB/step per rank in " << c.buckets
            << (c.buckets == 1 ? " bucket" : " buckets") << "; " << c.early << " of "
            << c.steps * c.buckets << " bucket all-reduces started during backward)\n";
}

std::string percent(double v) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << 100.0 * v << "%";
  return o.str();
}

// A progress bar for the steps of one epoch or block, with the running loss.
train::StepFn step_bar(ProgressBar& bar) {
  return [&bar](const train::StepProgress& p) {
    std::ostringstream extra;
    extra << std::fixed << std::setprecision(4) << "loss " << p.loss;
    if (p.accuracy >= 0) extra << std::setprecision(1) << "  acc " << 100 * p.accuracy << "%";
    Progress q{p.done, p.total, p.images_per_s, p.eta_s};
    bar.update(q, extra.str());
  };
}

// Mean and std of the pixels (in [0,1]) of up to 2000 training images, per channel.
void measure_mean_std(const Dataset& d, PreprocessConfig& pp) {
  PreprocessConfig raw = pp;
  raw.mean = {0, 0, 0};
  raw.std = {1, 1, 1};
  const std::size_t n = std::min<std::size_t>(d.images.size(), 2000);
  const std::size_t per = static_cast<std::size_t>(raw.crop) * raw.crop;
  std::vector<float> buf(per * static_cast<std::size_t>(raw.channels));
  double sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
  std::size_t used = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = k * d.images.size() / n;
    try {
      preprocess_dataset_image(d, i, raw, buf.data());
    } catch (const Error&) {
      continue;
    }
    ++used;
    for (int c = 0; c < raw.channels; ++c)
      for (std::size_t p = 0; p < per; ++p) {
        const double v = buf[static_cast<std::size_t>(c) * per + p];
        sum[c] += v;
        sq[c] += v * v;
      }
  }
  if (used == 0) throw Error(d.root.string() + ": none of the sampled images could be decoded");
  for (int c = 0; c < raw.channels; ++c) {
    const double cnt = static_cast<double>(used * per);
    const double m = sum[c] / cnt;
    pp.mean[static_cast<std::size_t>(c)] = static_cast<float>(m);
    pp.std[static_cast<std::size_t>(c)] = static_cast<float>(std::sqrt(std::max(1e-12, sq[c] / cnt - m * m)));
  }
  if (pp.channels == 1) {
    pp.mean = {pp.mean[0], pp.mean[0], pp.mean[0]};
    pp.std = {pp.std[0], pp.std[0], pp.std[0]};
  }
}

std::array<float, 3> parse_triplet(const std::string& s, const char* opt, int channels) {
  std::array<float, 3> v{};
  std::stringstream ss(s);
  std::string item;
  int n = 0;
  while (std::getline(ss, item, ',')) {
    if (n == 3) throw UsageError(std::string("swinscope-cli: ") + opt + " takes 1 or 3 comma-separated numbers");
    try {
      v[static_cast<std::size_t>(n++)] = std::stof(item);
    } catch (...) {
      throw UsageError(std::string("swinscope-cli: ") + opt + ": '" + item + "' is not a number");
    }
  }
  if (n == 1) v = {v[0], v[0], v[0]};
  else if (n != 3 || channels == 1) throw UsageError(std::string("swinscope-cli: ") + opt + " takes 1 (gray) or 3 (RGB) numbers");
  // Checked before any training: a NaN mean or a zero std would train on NaN and write a model
  // every other command refuses (issue 14, item 4).
  const bool is_std = std::string(opt) == "--std";
  for (float x : v)
    if (!std::isfinite(x) || (is_std && x <= 0.f))
      throw UsageError(std::string("swinscope-cli: ") + opt + ": " + std::to_string(x) + " is not " +
                       (is_std ? "a finite positive number" : "a finite number"));
  return v;
}

// A number as recorded in a checkpoint's fingerprint: enough digits that two different
// values never read the same.
std::string number(double v) {
  std::ostringstream o;
  o << std::setprecision(10) << v;
  return o.str();
}

std::string triplet(const std::array<float, 3>& v) { return number(v[0]) + "," + number(v[1]) + "," + number(v[2]); }

// The fingerprint entries of the data options both commands share.
train::Fingerprint data_fingerprint(const Args& a, const Dataset& data, const Augment& g, std::uint64_t seed) {
  train::Fingerprint f;
  f["--data"] = fs::absolute(data.root).string() + " (" + std::to_string(data.images.size()) + " images)";
  f["--labels"] = a.get("--labels") ? fs::absolute(*a.get("--labels")).string() : std::string("(none)");
  f["--seed"] = std::to_string(seed);
  f["--no-augment"] = g.enabled ? "no" : "yes";
  f["--no-flip"] = g.hflip ? "no" : "yes";
  f["--pad"] = std::to_string(g.pad);
  return f;
}

void write_epoch(const train::EpochLog& l, int epochs) {
  std::cerr << "epoch " << l.epoch << "/" << epochs << std::fixed << std::setprecision(4) << "  loss " << l.loss
            << "  train " << percent(l.train_acc) << "  val " << (l.val_top1 >= 0 ? percent(l.val_top1) : "-")
            << std::setprecision(6) << "  lr " << l.lr << std::setprecision(0) << "  " << l.seconds << " s\n";
}

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
  auto opts = data_options();
  opts.insert(opts.begin(),
              {{"--arch", "CONFIG.json|PRESET", "the architecture: a SwinConfig JSON file or swin_tiny|small|base|large", ""},
               {"--init", "FILE", "instead of --arch: start from this FP32 model's weights, config, activations and\n"
                                  "preprocessing (continue or fine-tune a model; its class count must match the data)", ""},
               {"--out", "FILE", "where the trained FP32 model goes (.safetensors)", ""},
               force_option(),
               {"--epochs", "N", "training epochs", "30"},
               {"--batch", "N", "batch size", "128"},
               {"--lr", "X", "peak AdamW learning rate (after linear warm-up; cosine decay to --min-lr)", "1e-3"},
               {"--min-lr", "X", "learning rate at the end of the cosine schedule", "1e-5"},
               {"--weight-decay", "X", "AdamW weight decay", "0.05"},
               {"--warmup", "EPOCHS", "linear warm-up, in epochs (fractions allowed)", "1"},
               {"--label-smoothing", "X", "label smoothing of the cross-entropy", "0.1"},
               {"--resize", "N", "shorter side before the center crop (the crop is the config's img_size)", "img_size"},
               {"--mean", "M[,M,M]", "normalization mean (pixels in [0,1])", "measured on the data"},
               {"--std", "S[,S,S]", "normalization std", "measured on the data"},
               {"--activation", "gelu|relu", "the MLP activation of every block", "gelu"},
               {"--limit", "N", "train on the first N images of --data only (quick recipe probes)", "all"}});
  Args args("train",
            "Train a SWIN teacher from scratch on a small dataset (AdamW, warm-up + cosine schedule, label smoothing,\n"
            "random mirroring; random translation with --pad). The class count and names come from the data;\n"
            "preprocessing (resize, crop, mean/std, channels) is stored in the model so `eval`, `classify` and the\n"
            "app use it.",
            opts, "",
            "example (Fashion-MNIST, Debian package dataset-fashion-mnist):\n"
            "  swinscope-cli train --arch assets/fmnist_swin.json \\\n"
            "    --data /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \\\n"
            "    --val /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --epochs 12 --out teacher.safetensors");
  if (!args.parse(argv)) return kOk;
  const auto init_path = args.get("--init");
  if (init_path.has_value() == args.get("--arch").has_value())
    throw UsageError("swinscope-cli train: give either --arch (a new model) or --init (start from a model's weights)");
  std::optional<Model> init;
  if (init_path) {
    init = load_model(*init_path);
    if (init->is_int8()) throw Error(*init_path + ": an int8 model; start from the FP32 model it was quantized from");
  }
  const std::string arch = init_path ? *init_path : args.require("--arch");
  const fs::path out = args.require("--out");
  check_output_path(out.string(), init_path ? std::vector<std::string>{*init_path} : std::vector<std::string>{}, args.flag("--force"));
  SwinConfig cfg = init ? init->config : config_from_arch(arch);
  const std::string act_name = args.get_or("--activation", "gelu");
  if (act_name != "gelu" && act_name != "relu")
    throw UsageError("swinscope-cli train: --activation must be gelu or relu, found '" + act_name + "'");
  // The preprocessing options are checked before anything is read or trained.
  std::optional<std::array<float, 3>> opt_mean, opt_std;
  if (auto m = args.get("--mean")) opt_mean = parse_triplet(*m, "--mean", cfg.in_chans);
  if (auto s = args.get("--std")) opt_std = parse_triplet(*s, "--std", cfg.in_chans);
  Dataset data = open_dataset(args.require("--data"), opt_path(args, "--labels"), {});
  if (const long limit = args.get_long("--limit", 0, 0, std::numeric_limits<long>::max());
      limit > 0 && limit < static_cast<long>(data.images.size()))
    data.images.resize(static_cast<std::size_t>(limit));
  if (init && cfg.num_classes != static_cast<int>(data.folder_classes.size()))
    throw Error(*init_path + ": has " + std::to_string(cfg.num_classes) + " classes, but " + data.root.string() + " has " +
                std::to_string(data.folder_classes.size()));
  cfg.num_classes = static_cast<int>(data.folder_classes.size());
  cfg.validate();
  train::TrainOptions o;
  o.epochs = args.get_int("--epochs", 30, 1, 100000);
  o.batch = args.get_int("--batch", 128, 1, 65536);
  o.lr = args.get_double("--lr", 1e-3);
  o.min_lr = args.get_double("--min-lr", 1e-5);
  o.weight_decay = args.get_double("--weight-decay", 0.05);
  o.warmup_epochs = args.get_double("--warmup", 1);
  o.label_smoothing = args.get_double("--label-smoothing", 0.1);
  o.augment = parse_augment(args, cfg.img_size);
  o.seed = static_cast<std::uint64_t>(args.get_long("--seed", 0, 0, std::numeric_limits<long>::max()));
  o.workers = args.get_int("--workers", 2, 1, 256);
  o.val_limit = args.get_long("--val-limit", 0, 0, std::numeric_limits<long>::max());
  o.device = train::parse_device(args.get_or("--device", "auto"));
  if (auto d = args.get("--checkpoint-dir")) o.checkpoint_dir = *d;
  o.resume = args.flag("--resume");
  const auto dp = data_parallel(args, o.device);
  o.dp = dp.get();
  const bool main_rank = dp->is_main();
  if (o.batch % dp->world() != 0)
    throw UsageError("swinscope-cli train: --batch " + std::to_string(o.batch) + " (the global batch) does not divide by the " +
                     std::to_string(dp->world()) + " workers");
  if (!(o.lr > 0) || !(o.min_lr >= 0) || !(o.label_smoothing >= 0 && o.label_smoothing < 1) || !(o.warmup_epochs >= 0))
    throw UsageError("swinscope-cli train: --lr must be > 0, --min-lr ≥ 0, --warmup ≥ 0 and --label-smoothing in [0, 1)");
  set_threads(args);

  Model meta;
  meta.config = cfg;
  meta.classes = data.folder_classes;
  meta.preprocess.channels = cfg.in_chans;
  meta.preprocess.crop = cfg.img_size;
  meta.preprocess.resize = args.get_int("--resize", cfg.img_size, cfg.img_size, 65536);
  meta.preprocess.interpolation = "bilinear";
  if (opt_mean) meta.preprocess.mean = *opt_mean;
  if (opt_std) meta.preprocess.std = *opt_std;
  if (init) {
    meta.preprocess = init->preprocess;  // the model's own preprocessing
    meta.classes = init->classes;
  } else if (!args.get("--mean") || !args.get("--std")) {
    PreprocessConfig measured = meta.preprocess;
    measure_mean_std(data, measured);
    if (!args.get("--mean")) meta.preprocess.mean = measured.mean;
    if (!args.get("--std")) meta.preprocess.std = measured.std;
  }
  std::optional<Dataset> val;
  if (auto v = args.get("--val")) val = open_dataset(*v, opt_path(args, "--val-labels"), meta.classes);

  const Activation act = act_name == "relu" ? Activation::ReLU : Activation::GELU;
  torch::manual_seed(o.seed);
  auto model = std::make_shared<train::SwinImpl>(cfg);
  if (init) model->load_from(*init);
  else
    for (int b = 0; b < model->num_blocks(); ++b) model->block(b).set_activation(act);
  // Everything that changes the weights; a --resume with any of them changed is refused.
  o.fingerprint = data_fingerprint(args, data, o.augment, o.seed);
  if (init) o.fingerprint["--init"] = fs::absolute(*init_path).string() + " (" + std::to_string(init->file_size) + " bytes)";
  else o.fingerprint["--arch"] = cfg.to_json();
  o.fingerprint["--epochs"] = std::to_string(o.epochs);
  o.fingerprint["--batch"] = std::to_string(o.batch);
  o.fingerprint["--lr"] = number(o.lr);
  o.fingerprint["--min-lr"] = number(o.min_lr);
  o.fingerprint["--weight-decay"] = number(o.weight_decay);
  o.fingerprint["--warmup"] = number(o.warmup_epochs);
  o.fingerprint["--label-smoothing"] = number(o.label_smoothing);
  o.fingerprint["--activation"] = init ? std::string("(from --init)") : act_name;
  o.fingerprint["--resize"] = std::to_string(meta.preprocess.resize);
  o.fingerprint["--mean"] = triplet(meta.preprocess.mean);
  o.fingerprint["--std"] = triplet(meta.preprocess.std);
  if (!o.checkpoint_dir.empty() && main_rank) remove_stale_temporaries_noting(o.checkpoint_dir);
  if (main_rank)
    std::cerr << "train: " << cfg.parameter_count() << " parameters, " << data.images.size() << " images (" << data.layout
            << "), " << cfg.num_classes << " classes, " << o.epochs << " epochs of " << (data.images.size() + o.batch - 1) / o.batch
            << " steps on " << (o.device.is_cuda() ? "cuda" : "cpu") << " (" << torch::get_num_threads() << " threads"
            << workers_note(*dp) << ")\n"
            << std::setprecision(4) << "  preprocessing: resize " << meta.preprocess.resize << ", crop " << meta.preprocess.crop
            << ", mean " << meta.preprocess.mean[0] << ", std " << meta.preprocess.std[0] << "\n";
  ProgressBar bar("train");
  // Progress and logs from rank 0 only; every rank holds the same weights and global figures.
  const auto logs = train::train_teacher(*model, meta, data, val ? &*val : nullptr, o,
                                         main_rank ? step_bar(bar) : train::StepFn{}, [&](const train::EpochLog& l) {
                                           if (!main_rank) return;
                                           bar.finish();
                                           write_epoch(l, o.epochs);
                                         });
  write_comm_stats(*dp);
  if (!main_rank) return kOk;
  save_model(model->to_model(meta), out);
  std::cout << "wrote " << out.string() << ": FP32 " << model->to_model(meta).activation_summary() << ", "
            << cfg.parameter_count() << " parameters";
  if (!logs.empty() && logs.back().val_top1 >= 0) std::cout << ", validation top-1 " << percent(logs.back().val_top1);
  std::cout << "\n";
  return kOk;
}

int cmd_distill(const std::vector<std::string>& argv) {
  auto opts = data_options();
  opts.insert(opts.begin(),
              {{"--teacher", "FILE", "the FP32 GELU model to distill from (any layout `info` reads)", ""},
               {"--out", "FILE", "where the GELU-less FP32 student goes (.safetensors)", ""},
               force_option(),
               {"--fraction", "X", "fraction of --data used in each block's epoch", "0.1"},
               {"--epochs-per-block", "N", "KD epochs after each block's swap", "1"},
               {"--lr", "X", "SGD learning rate", "0.01"},
               {"--lr-schedule", "constant|cosine",
                "constant: --lr throughout (the paper); cosine: from --lr down to 0 over each block's KD steps, so every "
                "block ends settled instead of at full rate", "constant"},
               {"--momentum", "X", "SGD momentum", "0.9"},
               {"--batch", "N", "batch size", "32"},
               {"--temperature", "T", "KD temperature (soft labels softmax(z/T), loss scaled by T²)", "1"},
               {"--no-kd", "", "the paper's ablation: swap to ReLU and zero the FC1 bias, no training", ""},
               {"--stop-after-block", "K", "stop after block K as if interrupted (for testing --resume)", "-1"}});
  Args args("distill",
            "The paper's Algorithm 1 (arXiv 2402.01169): for each block in order, GELU → ReLU and FC1 bias ← 0\n"
            "(frozen), then knowledge distillation from the original model (KL divergence of temperature-softened\n"
            "logits, SGD) for --epochs-per-block epochs on --fraction of the data. After each block: the KD loss,\n"
            "validation top-1 and a checkpoint; --resume continues at the next unfinished block after any\n"
            "interruption (kill -9 included). The output is a GELU-less FP32 model without FC1 biases, ready for\n"
            "`quantize`.",
            opts, "",
            "example:\n"
            "  swinscope-cli distill --teacher teacher.safetensors --data train-images-idx3-ubyte.gz \\\n"
            "    --val t10k-images-idx3-ubyte.gz --checkpoint-dir ckpt --out student.safetensors");
  if (!args.parse(argv)) return kOk;
  const fs::path teacher_path = args.require("--teacher");
  const fs::path out = args.require("--out");
  check_output_path(out.string(), {teacher_path.string()}, args.flag("--force"));
  const Model teacher = load_model(teacher_path);
  if (teacher.is_int8())
    throw Error(teacher_path.string() + ": an int8 model; distill from the FP32 model it was quantized from");
  const Dataset data = open_dataset(args.require("--data"), opt_path(args, "--labels"), teacher.classes);
  std::optional<Dataset> val;
  if (auto v = args.get("--val")) val = open_dataset(*v, opt_path(args, "--val-labels"), teacher.classes);
  train::DistillOptions o;
  o.fraction = args.get_double("--fraction", 0.1);
  if (!(o.fraction > 0 && o.fraction <= 1)) throw UsageError("swinscope-cli distill: --fraction must be in (0, 1]");
  o.epochs_per_block = args.get_int("--epochs-per-block", 1, 0, 1000);
  o.lr = args.get_double("--lr", 0.01);
  const std::string schedule = args.get_or("--lr-schedule", "constant");
  if (schedule != "constant" && schedule != "cosine")
    throw UsageError("swinscope-cli distill: --lr-schedule must be constant or cosine, not '" + schedule + "'");
  o.cosine = schedule == "cosine";
  o.momentum = args.get_double("--momentum", 0.9);
  o.batch = args.get_int("--batch", 32, 1, 65536);
  o.temperature = args.get_double("--temperature", 1.0);
  if (!(o.temperature > 0)) throw UsageError("swinscope-cli distill: --temperature must be positive");
  o.kd = !args.flag("--no-kd");
  o.augment = parse_augment(args, teacher.config.img_size);
  o.seed = static_cast<std::uint64_t>(args.get_long("--seed", 0, 0, std::numeric_limits<long>::max()));
  o.workers = args.get_int("--workers", 2, 1, 256);
  o.val_limit = args.get_long("--val-limit", 0, 0, std::numeric_limits<long>::max());
  o.device = train::parse_device(args.get_or("--device", "auto"));
  if (auto d = args.get("--checkpoint-dir")) o.checkpoint_dir = *d;
  o.resume = args.flag("--resume");
  o.stop_after_block = args.get_int("--stop-after-block", -1, -1, 1 << 20);
  const auto dp = data_parallel(args, o.device);
  o.dp = dp.get();
  const bool main_rank = dp->is_main();
  if (o.batch % dp->world() != 0)
    throw UsageError("swinscope-cli distill: --batch " + std::to_string(o.batch) + " (the global batch) does not divide by the " +
                     std::to_string(dp->world()) + " workers");
  set_threads(args);
  // Everything that changes the weights; a --resume with any of them changed is refused.
  o.fingerprint = data_fingerprint(args, data, o.augment, o.seed);
  o.fingerprint["--teacher"] = fs::absolute(teacher_path).string() + " (" + std::to_string(teacher.file_size) + " bytes)";
  o.fingerprint["--fraction"] = number(o.fraction);
  o.fingerprint["--epochs-per-block"] = std::to_string(o.epochs_per_block);
  o.fingerprint["--lr"] = number(o.lr);
  o.fingerprint["--lr-schedule"] = schedule;
  o.fingerprint["--momentum"] = number(o.momentum);
  o.fingerprint["--batch"] = std::to_string(o.batch);
  o.fingerprint["--temperature"] = number(o.temperature);
  o.fingerprint["--no-kd"] = o.kd ? "no" : "yes";
  if (!o.checkpoint_dir.empty() && main_rank) remove_stale_temporaries_noting(o.checkpoint_dir);
  const int L = teacher.config.total_blocks();
  if (main_rank)
    std::cerr << "distill: " << L << " blocks, " << (o.kd ? "KD on " + std::to_string(static_cast<long>(std::lround(o.fraction * data.images.size()))) +
                                                             " images per block" : std::string("no KD (ablation)"))
            << " on " << (o.device.is_cuda() ? "cuda" : "cpu") << workers_note(*dp) << "\n";
  if (val) {
    train::Swin t = train::swin_from_model(teacher);
    const double top1 = train::evaluate_top1(*t, *val, teacher.preprocess, 128, torch::kCPU, o.val_limit, o.workers, dp.get());
    if (main_rank) std::cerr << "teacher validation top-1 " << percent(top1) << "\n";
  }
  ProgressBar bar("distill");
  // Progress and logs from rank 0 only; every rank holds the same weights and global figures.
  const auto r = train::distill(teacher, data, val ? &*val : nullptr, o, main_rank ? step_bar(bar) : train::StepFn{},
                                [&](const train::BlockLog& b) {
                                  if (!main_rank) return;
                                  bar.finish();
                                  std::cerr << "block " << b.block + 1 << "/" << L << std::fixed << std::setprecision(4);
                                  if (o.kd)
                                    std::cerr << "  KD loss " << b.kd_loss_first << " → " << b.kd_loss_last << " (mean "
                                              << b.kd_loss_mean << ")";
                                  std::cerr << "  val " << (b.val_top1 >= 0 ? percent(b.val_top1) : "-")
                                            << std::setprecision(0) << "  " << b.seconds << " s\n";
                                });
  write_comm_stats(*dp);
  if (!main_rank) return kOk;
  if (!r.finished) {
    std::cerr << "stopped after block " << o.stop_after_block + 1 << " (--stop-after-block); continue with --resume\n";
    return kOk;
  }
  Model student = r.student->to_model(teacher);
  save_model(student, out);
  std::cout << "wrote " << out.string() << ": FP32 " << student.activation_summary() << ", no FC1 biases";
  if (!r.blocks.empty() && r.blocks.back().val_top1 >= 0) std::cout << ", validation top-1 " << percent(r.blocks.back().val_top1);
  std::cout << "\n";
  return kOk;
}

#endif

}  // namespace swinscope::cli
