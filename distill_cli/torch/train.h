#pragma once
// The two training procedures: a teacher from scratch (AdamW, warm-up + cosine schedule,
// label smoothing, augmentation) and the paper's Algorithm 1 (block by block: GELU → ReLU,
// FC1 bias zeroed and frozen, one knowledge-distillation epoch each). Both checkpoint into
// a folder (temporary file + rename) and resume from it after any interruption.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "distill_cli/torch/data.h"
#include "distill_cli/torch/dist.h"
#include "distill_cli/torch/swin.h"
#include "engine/dataset.h"
#include "engine/model.h"

namespace swinscope::train {

// "cpu", "cuda", "auto" → a device; throws swinscope::Error when CUDA is asked for and
// this libtorch has none (or sees no GPU).
torch::Device parse_device(const std::string& name);

// Step-level progress: done/total steps in the current unit (epoch or block), running
// loss and accuracy (accuracy < 0 when not meaningful).
struct StepProgress {
  long done = 0, total = 0;
  double loss = 0, accuracy = -1;
  double images_per_s = 0;
  double eta_s = 0;
};
using StepFn = std::function<void(const StepProgress&)>;

// Top-1 of `model` on `data` (limit > 0: the first `limit` items), no augmentation. With a
// distributed `dp`, each rank evaluates its contiguous share and the counts are summed.
double evaluate_top1(SwinImpl& model, const Dataset& data, const PreprocessConfig& pp, int batch, torch::Device device,
                     long limit, int workers, DataParallel* dp = nullptr);

// Every option that changes the result of a run, by its command-line name ("--lr") with its
// value as text: stored in the checkpoint, and a --resume whose options differ is refused
// naming each option with both values.
using Fingerprint = std::map<std::string, std::string>;

struct TrainOptions {
  int epochs = 30;
  int batch = 128;
  double lr = 1e-3;
  double min_lr = 1e-5;
  double weight_decay = 0.05;
  double warmup_epochs = 1;
  double label_smoothing = 0.1;
  Augment augment{true, 0, true};
  std::uint64_t seed = 0;
  int workers = 2;
  long val_limit = 0;
  torch::Device device = torch::kCPU;
  std::filesystem::path checkpoint_dir;  // empty: no checkpoints
  bool resume = false;
  Fingerprint fingerprint;  // the options that must match on --resume
  // Data parallelism (null or world 1: one process). `batch` stays the global batch; each
  // rank trains on batch / world of it, and only rank 0 writes checkpoints.
  DataParallel* dp = nullptr;
};

struct EpochLog {
  int epoch = 0;
  double loss = 0, train_acc = 0, val_top1 = -1, seconds = 0, lr = 0;
};

// Trains `model` in place; `log` after each epoch. Returns the logs of all epochs (those
// of a resumed run included).
std::vector<EpochLog> train_teacher(SwinImpl& model, const Model& meta, const Dataset& train, const Dataset* val,
                                    const TrainOptions& opt, const StepFn& step, const std::function<void(const EpochLog&)>& log);

struct DistillOptions {
  double fraction = 0.1;
  int epochs_per_block = 1;
  double lr = 0.01;
  double momentum = 0.9;
  int batch = 32;
  double temperature = 1.0;
  bool cosine = false;  // false: constant --lr (the paper); true: cosine from --lr to 0 over each block's KD steps
  bool kd = true;  // false: the paper's ablation (swap and zero, no training)
  Augment augment{true, 0, true};
  std::uint64_t seed = 0;
  int workers = 2;
  long val_limit = 0;
  torch::Device device = torch::kCPU;
  std::filesystem::path checkpoint_dir;
  bool resume = false;
  int stop_after_block = -1;  // test hook: return after this block as if killed
  Fingerprint fingerprint;
  DataParallel* dp = nullptr;  // as TrainOptions::dp
};

struct BlockLog {
  int block = 0;              // global block index
  double kd_loss_first = 0;   // mean KD loss over the first 10% of the block's steps
  double kd_loss_last = 0;    // ... and over the last 10%
  double kd_loss_mean = 0;
  double val_top1 = -1;
  double seconds = 0;
};

// KL(softmax(t/T) ‖ softmax(s/T)) · T², averaged over the batch.
torch::Tensor kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits, double temperature);

struct DistillResult {
  Swin student;
  std::vector<BlockLog> blocks;  // every finished block, resumed ones included
  bool finished = false;         // false when stopped by the test hook
};

// The SGD rate at `step` of a block's `steps` KD steps (0-based).
double distill_lr_at(const DistillOptions& o, long step, long steps);

DistillResult distill(const Model& teacher, const Dataset& train, const Dataset* val, const DistillOptions& opt,
                      const StepFn& step, const std::function<void(const BlockLog&)>& log);

}  // namespace swinscope::train
