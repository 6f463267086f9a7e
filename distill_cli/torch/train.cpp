#include "distill_cli/torch/train.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>

#include "engine/atomic_file.h"
#include "engine/error.h"

namespace swinscope::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name == "auto") {
    if (torch::cuda::is_available()) return torch::kCUDA;
    if (name == "cuda")
      throw Error("--device cuda: this libtorch has no CUDA or sees no GPU (Debian's libtorch-dev is CPU-only; "
                  "configure with -DTorch_DIR=<a CUDA libtorch>/share/cmake/Torch)");
    return torch::kCPU;
  }
  throw Error("--device must be cpu, cuda or auto, found '" + name + "'");
}

double evaluate_top1(SwinImpl& model, const Dataset& data, const PreprocessConfig& pp, int batch, torch::Device device,
                     long limit, int workers, DataParallel* dp) {
  std::size_t n = data.images.size();
  if (limit > 0) n = std::min<std::size_t>(n, static_cast<std::size_t>(limit));
  const bool shard = dp && dp->distributed();
  const auto [lo, hi] = shard ? rank_range(n, dp->rank(), dp->world()) : std::pair<std::size_t, std::size_t>{0, n};
  std::vector<std::size_t> order(hi - lo);
  std::iota(order.begin(), order.end(), lo);
  BatchLoader loader(data, pp, std::move(order), batch, Augment{}, 0, workers);
  torch::NoGradGuard ng;
  const bool was_training = model.is_training();
  model.eval();
  long correct = 0, seen = 0;
  torch::Tensor x, y;
  while (loader.next(x, y)) {
    auto pred = model.forward(x.to(device)).argmax(1).to(torch::kCPU);
    correct += pred.eq(y).sum().item<long>();
    seen += y.size(0);
  }
  model.train(was_training);
  if (shard) {
    std::vector<double> counts{static_cast<double>(correct), static_cast<double>(seen)};
    dp->sum(counts);
    return counts[1] > 0 ? counts[0] / counts[1] : 0.0;
  }
  return seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
}

namespace {

nlohmann::json read_state(const fs::path& dir) {
  const fs::path p = dir / "state.json";
  std::ifstream in(p);
  if (!in) throw Error(p.string() + ": cannot read");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

void write_state(const fs::path& dir, const nlohmann::json& state) { write_file_atomically(dir / "state.json", state.dump(2) + "\n"); }

nlohmann::json to_json(const Fingerprint& f) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : f) j[k] = v;
  return j;
}

// Refuses a resume whose options differ from the run's, naming every option that changed.
void check_fingerprint(const nlohmann::json& stored, const Fingerprint& now, const fs::path& file) {
  if (!stored.is_object())
    throw Error(file.string() + ": written by an earlier swinscope-cli that did not record every option, so a resume "
                "cannot be checked; start the run again in another --checkpoint-dir");
  auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::string diffs;
  for (const auto& [k, v] : now) {
    const auto it = stored.find(k);
    const std::string was = it == stored.end() ? std::string("(not recorded)") : text(*it);
    if (was != v) diffs += (diffs.empty() ? "" : "; ") + k + " was " + was + ", now " + v;
  }
  for (auto it = stored.begin(); it != stored.end(); ++it)
    if (!now.count(it.key())) diffs += (diffs.empty() ? "" : "; ") + it.key() + " was " + text(*it) + ", now not used";
  if (!diffs.empty())
    throw Error(file.string() + ": the run was made with other options: " + diffs +
                ". Resume with the same options as the first run, or start a new run in another --checkpoint-dir");
}

// A field of state.json, or an error naming the file and the field.
template <class T>
T state_field(const nlohmann::json& st, const char* key, const fs::path& file) {
  try {
    return st.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(file.string() + ": field '" + key + "' is missing or of the wrong type");
  }
}

// An integer field of state.json in [lo, hi].
int state_int(const nlohmann::json& st, const char* key, int lo, int hi, const fs::path& file, const std::string& why) {
  const auto v = state_field<long long>(st, key, file);
  if (v < lo || v > hi)
    throw Error(file.string() + ": " + key + " is " + std::to_string(v) + ", outside " + std::to_string(lo) + ".." +
                std::to_string(hi) + " (" + why + ")");
  return static_cast<int>(v);
}

// A file named by state.json: a plain name inside the checkpoint folder that exists.
fs::path state_file(const nlohmann::json& st, const char* key, const fs::path& dir, const fs::path& file) {
  const auto name = state_field<std::string>(st, key, file);
  if (name.empty() || fs::path(name).filename().string() != name)
    throw Error(file.string() + ": " + key + " '" + name + "' is not a file name inside " + dir.string());
  const fs::path p = dir / name;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) throw Error(file.string() + ": " + key + " names " + p.string() + ", which does not exist");
  return p;
}

// With --resume: the saved state (after checking it was made with the same options);
// without: refuses a folder that holds one, so no run is overwritten by accident.
std::optional<nlohmann::json> open_checkpoints(const fs::path& dir, bool resume, const Fingerprint& fingerprint,
                                               const char* what) {
  if (dir.empty()) {
    if (resume) throw Error(std::string("--resume needs --checkpoint-dir (where the ") + what + " run saved its state)");
    return std::nullopt;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create checkpoint folder (" + ec.message() + ")");
  const bool exists = fs::exists(dir / "state.json");
  if (!resume) {
    if (exists)
      throw Error(dir.string() + ": holds a " + what + " checkpoint already; pass --resume to continue it, or use another folder");
    return std::nullopt;
  }
  if (!exists) return std::nullopt;  // nothing to resume: start from the beginning
  auto st = read_state(dir);
  const fs::path file = dir / "state.json";
  if (!st.is_object()) throw Error(file.string() + ": not a checkpoint state (a JSON object)");
  if (st.value("kind", "") != what)
    throw Error(file.string() + ": a '" + st.value("kind", "?") + "' checkpoint, not a " + what + " one");
  check_fingerprint(st.contains("fingerprint") ? st["fingerprint"] : nlohmann::json(), fingerprint, file);
  if (!st.contains("log") || !st["log"].is_array()) throw Error(file.string() + ": field 'log' is missing or not a list");
  return st;
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

// Half a cosine from `from` (t = 0) down to `to` (t = 1).
double cosine_decay(double from, double to, double t) { return to + 0.5 * (from - to) * (1 + std::cos(M_PI * t)); }

double lr_at(const TrainOptions& o, long step, long steps_per_epoch) {
  const double warm = o.warmup_epochs * static_cast<double>(steps_per_epoch);
  const double total = static_cast<double>(o.epochs) * static_cast<double>(steps_per_epoch);
  if (step < warm) return o.lr * (static_cast<double>(step) + 1) / warm;
  const double t = (static_cast<double>(step) - warm) / std::max(1.0, total - warm);
  return cosine_decay(o.lr, o.min_lr, std::min(1.0, t));
}

nlohmann::json to_json(const EpochLog& l) {
  return {{"epoch", l.epoch}, {"loss", l.loss}, {"train_acc", l.train_acc}, {"val_top1", l.val_top1}, {"seconds", l.seconds}, {"lr", l.lr}};
}
EpochLog epoch_from_json(const nlohmann::json& j, const fs::path& file) {
  try {
    return {j.at("epoch").get<int>(), j.at("loss").get<double>(), j.at("train_acc").get<double>(), j.at("val_top1").get<double>(),
            j.at("seconds").get<double>(), j.at("lr").get<double>()};
  } catch (const nlohmann::json::exception&) {
    throw Error(file.string() + ": an entry of 'log' is not an epoch record: " + j.dump());
  }
}
nlohmann::json to_json(const BlockLog& l) {
  return {{"block", l.block},           {"kd_loss_first", l.kd_loss_first}, {"kd_loss_last", l.kd_loss_last},
          {"kd_loss_mean", l.kd_loss_mean}, {"val_top1", l.val_top1},       {"seconds", l.seconds}};
}
BlockLog block_from_json(const nlohmann::json& j, const fs::path& file) {
  try {
    return {j.at("block").get<int>(),        j.at("kd_loss_first").get<double>(), j.at("kd_loss_last").get<double>(),
            j.at("kd_loss_mean").get<double>(), j.at("val_top1").get<double>(),  j.at("seconds").get<double>()};
  } catch (const nlohmann::json::exception&) {
    throw Error(file.string() + ": an entry of 'log' is not a block record: " + j.dump());
  }
}

void save_weights(const SwinImpl& model, const Model& meta, const fs::path& path) { save_model(model.to_model(meta), path); }

// The optimizer state, serialized in memory and written by the atomic writer: libtorch's
// own file writer throws from a destructor when the disk is full (std::terminate, exit 134)
// and leaves its temporary behind.
void save_optimizer(torch::optim::Optimizer& optimizer, const fs::path& path) {
  std::string bytes;
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.save_to([&bytes](const void* p, std::size_t n) {
    bytes.append(static_cast<const char*>(p), n);
    return n;
  });
  write_file_atomically(path, bytes);
}

void load_optimizer(torch::optim::Optimizer& optimizer, const fs::path& path) {
  try {
    torch::load(optimizer, path.string());
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw Error(path.string() + ": not an optimizer state for this model (" + what.substr(0, what.find('\n')) + ")");
  }
}

// What is left after a failure in unit `done + 1` (an epoch or a block, 1-based).
std::string kept_checkpoint(const fs::path& dir, const std::string& unit, int done) {
  if (dir.empty()) return "nothing was saved (no --checkpoint-dir)";
  if (done == 0) return "no checkpoint was saved yet";
  return "the checkpoint of " + unit + " " + std::to_string(done) + " in " + dir.string() + " is intact (--resume continues it)";
}

// Non-finite weights are never checkpointed or written: the last good checkpoint stays.
void check_finite_parameters(SwinImpl& model, const std::string& where, const std::string& kept) {
  torch::NoGradGuard ng;
  for (const auto& p : model.named_parameters())
    if (!torch::isfinite(p.value()).all().item<bool>())
      throw Error(where + ": parameter '" + p.key() + "' holds NaN or Inf; stopped without saving it; " + kept,
                  Error::Kind::Runtime);
}

}  // namespace

std::vector<EpochLog> train_teacher(SwinImpl& model, const Model& meta, const Dataset& train, const Dataset* val,
                                    const TrainOptions& opt, const StepFn& step, const std::function<void(const EpochLog&)>& log) {
  const auto& pp = meta.preprocess;
  std::vector<EpochLog> logs;
  int start_epoch = 0;
  model.to(opt.device);
  torch::optim::AdamW optimizer(model.trainable_parameters(), torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
  if (auto st = open_checkpoints(opt.checkpoint_dir, opt.resume, opt.fingerprint, "train")) {
    // Every field is checked against this run before it is used (issue 14, item 8).
    const fs::path file = opt.checkpoint_dir / "state.json";
    start_epoch = state_int(*st, "next_epoch", 1, opt.epochs, file, "the run has " + std::to_string(opt.epochs) + " epochs");
    if (static_cast<int>((*st)["log"].size()) != start_epoch)
      throw Error(file.string() + ": 'log' has " + std::to_string((*st)["log"].size()) + " epochs but next_epoch is " +
                  std::to_string(start_epoch));
    for (const auto& j : (*st)["log"]) {
      logs.push_back(epoch_from_json(j, file));
      if (logs.back().epoch != static_cast<int>(logs.size()))
        throw Error(file.string() + ": 'log' entry " + std::to_string(logs.size()) + " is for epoch " + std::to_string(logs.back().epoch));
    }
    const fs::path weights = state_file(*st, "weights", opt.checkpoint_dir, file);
    const fs::path optim = state_file(*st, "optimizer", opt.checkpoint_dir, file);
    const Model saved = load_model(weights);
    if (saved.config.to_json() != meta.config.to_json())
      throw Error(weights.string() + ": its architecture differs from this run's");
    for (int b = 0; b < model.num_blocks(); ++b)
      if (saved.activations[static_cast<std::size_t>(b)] != model.block(b).activation)
        throw Error(weights.string() + ": block " + std::to_string(b + 1) + " has another activation than this run's");
    model.to(torch::kCPU);
    model.load_from(saved);
    model.to(opt.device);
    load_optimizer(optimizer, optim);
  }
  DataParallel* dp = opt.dp && opt.dp->distributed() ? opt.dp : nullptr;
  const int world = dp ? dp->world() : 1;
  if (opt.batch % world != 0)
    throw Error("train: --batch " + std::to_string(opt.batch) + " is the global batch and must divide by the " +
                std::to_string(world) + " workers");
  const bool main_rank = !dp || dp->is_main();
  if (dp) dp->broadcast(model.parameters());  // a resumed checkpoint or rank 0's initialisation everywhere
  const auto params = model.trainable_parameters();
  const long steps_per_epoch = static_cast<long>((train.images.size() + static_cast<std::size_t>(opt.batch) - 1) /
                                                 static_cast<std::size_t>(opt.batch));
  for (int epoch = start_epoch; epoch < opt.epochs; ++epoch) {
    const auto t0 = Clock::now();
    torch::manual_seed(mix_seed(opt.seed, static_cast<std::uint64_t>(epoch)));
    auto order = shuffled_subset(train.images.size(), 1.0, mix_seed(opt.seed, 1000 + static_cast<std::uint64_t>(epoch)));
    if (dp) order = rank_shard(order, opt.batch, dp->rank(), world);
    BatchLoader loader(train, pp, std::move(order), opt.batch / world, opt.augment,
                       mix_seed(opt.seed, 2000 + static_cast<std::uint64_t>(epoch)), opt.workers);
    const long steps = dp ? steps_per_epoch : static_cast<long>(loader.batches());
    model.train();
    double loss_sum = 0, lr = opt.lr;
    long correct = 0, seen = 0, s = 0;
    torch::Tensor x, y;
    // One process: every non-empty batch. Data-parallel: every global step, even where this
    // rank's share is empty (short last batch) or undecodable, since every rank all-reduces.
    while (dp ? s < steps : loader.next(x, y)) {
      const bool have = dp ? loader.next_step(x, y) && x.size(0) > 0 : true;
      lr = lr_at(opt, static_cast<long>(epoch) * steps_per_epoch + s, steps_per_epoch);
      for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      torch::Tensor logits, loss;
      if (have) {
        x = x.to(opt.device);
        y = y.to(opt.device);
        logits = model.forward(x);
        loss = torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(opt.label_smoothing));
      }
      double loss_value = 0;
      long n = 0, hits = 0;
      if (dp) {
        // The gradient of the local loss sum, summed over ranks and divided by the global
        // count: the gradient of the mean over the global batch whatever the shares' sizes.
        optimizer.zero_grad();
        StepSums sums;
        if (have) {
          n = y.size(0);
          sums.count = static_cast<double>(n);
          sums.loss_sum = loss.item<double>() * sums.count;
          sums.correct = static_cast<double>(logits.argmax(1).eq(y).sum().item<long>());
        }
        // The all-reduce of each gradient bucket starts during backward (DataParallel::begin_step).
        dp->begin_step(params, sums);
        if (have) (loss * sums.count).backward();
        dp->end_step(sums);
        n = std::lround(sums.count);
        hits = std::lround(sums.correct);
        loss_value = n > 0 ? sums.loss_sum / sums.count : 0.0;
      } else {
        loss_value = loss.item<double>();
      }
      if (!std::isfinite(loss_value))
        throw Error("train: the loss is " + std::to_string(loss_value) + " at epoch " + std::to_string(epoch + 1) + "/" +
                        std::to_string(opt.epochs) + ", step " + std::to_string(s + 1) + "/" + std::to_string(steps) +
                        "; stopped before updating the weights (a lower --lr may help); " +
                        kept_checkpoint(opt.checkpoint_dir, "epoch", epoch),
                    Error::Kind::Runtime);
      if (!dp) {
        optimizer.zero_grad();
        loss.backward();
        n = y.size(0);
        hits = logits.argmax(1).eq(y).sum().item<long>();
      }
      optimizer.step();
      loss_sum += loss_value * static_cast<double>(n);
      correct += hits;
      seen += n;
      ++s;
      if (step && seen > 0) {
        const double el = std::chrono::duration<double>(Clock::now() - t0).count();
        step({s, steps, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
              el > 0 ? static_cast<double>(seen) / el : 0, el / static_cast<double>(s) * static_cast<double>(steps - s)});
      }
    }
    if (seen == 0) throw Error(train.root.string() + ": no training image could be decoded (first: " +
                               (loader.skip_reasons().empty() ? std::string("?") : loader.skip_reasons()[0]) + ")");
    EpochLog l;
    l.epoch = epoch + 1;
    l.loss = loss_sum / static_cast<double>(seen);
    l.train_acc = static_cast<double>(correct) / static_cast<double>(seen);
    l.lr = lr;
    if (val) l.val_top1 = evaluate_top1(model, *val, pp, std::max(opt.batch, 64), opt.device, opt.val_limit, opt.workers, dp);
    l.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    logs.push_back(l);
    check_finite_parameters(model, "train: after epoch " + std::to_string(l.epoch) + "/" + std::to_string(opt.epochs),
                            kept_checkpoint(opt.checkpoint_dir, "epoch", epoch));
    if (!opt.checkpoint_dir.empty() && main_rank) {
      const std::string w = "teacher-epoch-" + std::to_string(l.epoch) + ".safetensors";
      const std::string o = "optimizer-epoch-" + std::to_string(l.epoch) + ".pt";
      try {
        model.to(torch::kCPU);
        save_weights(model, meta, opt.checkpoint_dir / w);
        model.to(opt.device);
        save_optimizer(optimizer, opt.checkpoint_dir / o);
        nlohmann::json st{{"kind", "train"}, {"fingerprint", to_json(opt.fingerprint)}, {"next_epoch", l.epoch}, {"weights", w}, {"optimizer", o}};
        st["log"] = nlohmann::json::array();
        for (const auto& e : logs) st["log"].push_back(to_json(e));
        write_state(opt.checkpoint_dir, st);
      } catch (const std::exception& e) {
        // state.json still names the previous epoch's files; this epoch's are of no use.
        remove_quietly(opt.checkpoint_dir / w);
        remove_quietly(opt.checkpoint_dir / o);
        throw Error("train: the checkpoint of epoch " + std::to_string(l.epoch) + " was not saved: " + e.what() + "; " +
                        kept_checkpoint(opt.checkpoint_dir, "epoch", l.epoch - 1),
                    Error::Kind::Runtime);
      }
      if (l.epoch > 1) {
        remove_quietly(opt.checkpoint_dir / ("teacher-epoch-" + std::to_string(l.epoch - 1) + ".safetensors"));
        remove_quietly(opt.checkpoint_dir / ("optimizer-epoch-" + std::to_string(l.epoch - 1) + ".pt"));
      }
    }
    if (log) log(l);
  }
  model.to(torch::kCPU);
  return logs;
}

torch::Tensor kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits, double temperature) {
  auto log_ps = torch::log_softmax(student_logits / temperature, 1);
  auto log_pt = torch::log_softmax(teacher_logits / temperature, 1);
  return (log_pt.exp() * (log_pt - log_ps)).sum(1).mean() * (temperature * temperature);
}

double distill_lr_at(const DistillOptions& o, long step, long steps) {
  if (!o.cosine || steps <= 1) return o.lr;
  const double t = static_cast<double>(std::clamp(step, 0L, steps - 1)) / static_cast<double>(steps);
  return cosine_decay(o.lr, 0.0, t);
}

DistillResult distill(const Model& teacher, const Dataset& train, const Dataset* val, const DistillOptions& opt,
                      const StepFn& step, const std::function<void(const BlockLog&)>& log) {
  DistillResult r;
  const auto& pp = teacher.preprocess;
  r.student = swin_from_model(teacher);
  Swin teacher_net = swin_from_model(teacher);
  teacher_net->eval();
  for (auto& p : teacher_net->parameters()) p.set_requires_grad(false);
  int start = 0;
  const int L = r.student->num_blocks();
  if (auto st = open_checkpoints(opt.checkpoint_dir, opt.resume, opt.fingerprint, "distill")) {
    // Every field is checked against the teacher before it is used (issue 14, item 8).
    const fs::path file = opt.checkpoint_dir / "state.json";
    start = state_int(*st, "next_block", 1, L, file, "the teacher has " + std::to_string(L) + " blocks");
    if (static_cast<int>((*st)["log"].size()) != start)
      throw Error(file.string() + ": 'log' has " + std::to_string((*st)["log"].size()) + " blocks but next_block is " +
                  std::to_string(start));
    for (const auto& j : (*st)["log"]) {
      r.blocks.push_back(block_from_json(j, file));
      if (r.blocks.back().block != static_cast<int>(r.blocks.size()) - 1)
        throw Error(file.string() + ": 'log' entry " + std::to_string(r.blocks.size()) + " is for block " +
                    std::to_string(r.blocks.back().block + 1));
    }
    const fs::path weights = state_file(*st, "weights", opt.checkpoint_dir, file);
    const Model saved = load_model(weights);
    if (saved.config.to_json() != teacher.config.to_json())
      throw Error(weights.string() + ": its architecture differs from the teacher's");
    // Blocks before next_block are converted (ReLU, no FC1 bias), the others are the teacher's.
    for (int g = 0; g < L; ++g) {
      const bool done = g < start;
      const auto i = static_cast<std::size_t>(g);
      const bool ok = done ? saved.activations[i] == Activation::ReLU && !saved.has_fc1_bias(g)
                           : saved.activations[i] == teacher.activations[i] && saved.has_fc1_bias(g) == teacher.has_fc1_bias(g);
      if (!ok)
        throw Error(file.string() + ": next_block " + std::to_string(start) + " says blocks 1.." + std::to_string(start) +
                    " are converted and the others are the teacher's, but block " + std::to_string(g + 1) + " of " +
                    weights.string() + (done ? " is not converted (ReLU without FC1 bias)" : " is not the teacher's"));
    }
    r.student->load_from(saved);
  }
  r.student->to(opt.device);
  teacher_net->to(opt.device);
  DataParallel* dp = opt.dp && opt.dp->distributed() ? opt.dp : nullptr;
  const int world = dp ? dp->world() : 1;
  if (opt.batch % world != 0)
    throw Error("distill: --batch " + std::to_string(opt.batch) + " is the global batch and must divide by the " +
                std::to_string(world) + " workers");
  const bool main_rank = !dp || dp->is_main();
  if (dp) dp->broadcast(r.student->parameters());
  for (int k = start; k < L; ++k) {
    const auto t0 = Clock::now();
    auto& blk = r.student->block(k);
    blk.set_activation(Activation::ReLU);
    blk.set_fc1_bias(false);
    BlockLog bl;
    bl.block = k;
    std::vector<double> losses;
    long block_step = 0;
    for (int e = 0; opt.kd && e < opt.epochs_per_block; ++e) {
      const std::uint64_t seed = mix_seed(opt.seed, static_cast<std::uint64_t>(k) * 1000 + static_cast<std::uint64_t>(e));
      torch::manual_seed(seed);
      auto order = shuffled_subset(train.images.size(), opt.fraction, seed);
      const long global_steps = static_cast<long>((order.size() + static_cast<std::size_t>(opt.batch) - 1) /
                                                  static_cast<std::size_t>(opt.batch));
      if (dp) order = rank_shard(order, opt.batch, dp->rank(), world);
      BatchLoader loader(train, pp, std::move(order), opt.batch / world, opt.augment, mix_seed(seed, 1), opt.workers);
      const long steps = dp ? global_steps : static_cast<long>(loader.batches());
      const auto params = r.student->trainable_parameters();
      torch::optim::SGD sgd(params, torch::optim::SGDOptions(opt.lr).momentum(opt.momentum));
      r.student->train();
      torch::Tensor x, y;
      long s = 0, seen = 0;
      double sum = 0;
      const long block_steps = steps * opt.epochs_per_block;
      // As in train_teacher: data-parallel ranks take every global step.
      while (dp ? s < steps : loader.next(x, y)) {
        const bool have = dp ? loader.next_step(x, y) && x.size(0) > 0 : true;
        const double lr = distill_lr_at(opt, block_step++, block_steps);
        for (auto& g : sgd.param_groups()) static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
        torch::Tensor loss;
        if (have) {
          x = x.to(opt.device);
          torch::Tensor t;
          {
            torch::NoGradGuard ng;
            t = teacher_net->forward(x);
          }
          loss = kd_loss(r.student->forward(x), t, opt.temperature);
        }
        double loss_value = 0;
        long n = 0;
        if (dp) {
          // kd_loss is a batch mean: the local sum's gradient, summed over ranks and divided by
          // the global count, is the single-process gradient of the global batch.
          sgd.zero_grad();
          StepSums sums;
          if (have) {
            sums.count = static_cast<double>(x.size(0));
            sums.loss_sum = loss.item<double>() * sums.count;
          }
          dp->begin_step(params, sums);
          if (have) (loss * sums.count).backward();
          dp->end_step(sums);
          n = std::lround(sums.count);
          loss_value = n > 0 ? sums.loss_sum / sums.count : 0.0;
        } else {
          loss_value = loss.item<double>();
          n = x.size(0);
        }
        if (!std::isfinite(loss_value))
          throw Error("distill: the KD loss is " + std::to_string(loss_value) + " at block " + std::to_string(k + 1) + "/" +
                          std::to_string(L) + ", epoch " + std::to_string(e + 1) + "/" + std::to_string(opt.epochs_per_block) +
                          ", step " + std::to_string(s + 1) + "/" + std::to_string(steps) +
                          "; stopped before updating the weights (a lower --lr may help); " +
                          kept_checkpoint(opt.checkpoint_dir, "block", k),
                      Error::Kind::Runtime);
        if (!dp) {
          sgd.zero_grad();
          loss.backward();
        }
        sgd.step();
        if (n > 0) {
          losses.push_back(loss_value);
          sum += losses.back();
        }
        seen += n;
        ++s;
        if (step && !losses.empty()) {
          const double el = std::chrono::duration<double>(Clock::now() - t0).count();
          step({s, steps, sum / static_cast<double>(losses.size()), -1, el > 0 ? static_cast<double>(seen) / el : 0,
                el / static_cast<double>(s) * static_cast<double>(steps - s)});
        }
      }
      if (seen == 0) throw Error(train.root.string() + ": no training image could be decoded");
    }
    if (!losses.empty()) {
      const std::size_t tenth = std::max<std::size_t>(1, losses.size() / 10);
      bl.kd_loss_first = std::accumulate(losses.begin(), losses.begin() + static_cast<long>(tenth), 0.0) / static_cast<double>(tenth);
      bl.kd_loss_last = std::accumulate(losses.end() - static_cast<long>(tenth), losses.end(), 0.0) / static_cast<double>(tenth);
      bl.kd_loss_mean = std::accumulate(losses.begin(), losses.end(), 0.0) / static_cast<double>(losses.size());
    }
    if (val) bl.val_top1 = evaluate_top1(*r.student, *val, pp, 128, opt.device, opt.val_limit, opt.workers, dp);
    bl.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.blocks.push_back(bl);
    check_finite_parameters(*r.student, "distill: after block " + std::to_string(k + 1) + "/" + std::to_string(L),
                            kept_checkpoint(opt.checkpoint_dir, "block", k));
    if (!opt.checkpoint_dir.empty() && main_rank) {
      const std::string w = "student-block-" + std::to_string(k) + ".safetensors";
      try {
        r.student->to(torch::kCPU);
        save_weights(*r.student, teacher, opt.checkpoint_dir / w);
        r.student->to(opt.device);
        nlohmann::json st{{"kind", "distill"}, {"fingerprint", to_json(opt.fingerprint)}, {"next_block", k + 1}, {"weights", w}};
        st["log"] = nlohmann::json::array();
        for (const auto& b : r.blocks) st["log"].push_back(to_json(b));
        write_state(opt.checkpoint_dir, st);
      } catch (const std::exception& e) {
        remove_quietly(opt.checkpoint_dir / w);  // state.json still names the previous block's weights
        throw Error("distill: the checkpoint of block " + std::to_string(k + 1) + " was not saved: " + e.what() + "; " +
                        kept_checkpoint(opt.checkpoint_dir, "block", k),
                    Error::Kind::Runtime);
      }
      if (k > 0) remove_quietly(opt.checkpoint_dir / ("student-block-" + std::to_string(k - 1) + ".safetensors"));
    }
    if (log) log(bl);
    if (k == opt.stop_after_block) {
      r.student->to(torch::kCPU);
      return r;
    }
  }
  r.student->to(torch::kCPU);
  r.finished = true;
  return r;
}

}  // namespace swinscope::train
