#pragma once
// Data parallelism for train and distill on PyTorch's c10d (docs/distributed.md): one
// process per rank, started by `swinscope-cli launch`, torchrun or Slurm with torchrun's
// environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Each rank trains
// on its shard of every global batch; gradients are summed over ranks in a few flat
// buckets (one all-reduce each, started from autograd hooks while backward runs, as PyTorch's
// DDP reducer does) and divided by the global sample count, so a step equals the
// single-process step on the whole global batch.
//
// Built only where Gloo's headers were found (Debian package libgloo-dev): without them
// SWINSCOPE_HAVE_C10D is undefined and a world size above 1 is refused with that reason.
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace swinscope::train {

// torchrun's variables; world 1 and rank 0 when WORLD_SIZE is unset.
struct DistEnv {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent hosts the TCPStore
};

// Reads and checks the environment; throws swinscope::Error naming the variable.
DistEnv dist_env_from_environment();

// True when this build has the c10d (Gloo) path.
bool dist_compiled_in();

// What a gradient all-reduce cost, summed since the last reset.
struct CommStats {
  long steps = 0;
  double seconds = 0;       // wall clock in begin_step + end_step: what backward did not hide
  std::int64_t bytes = 0;   // payload of every bucket (float32), per rank and step summed
  int buckets = 0;          // buckets of the last step
  long early = 0;           // buckets whose all-reduce started during backward (--dist-overlap on)
};

// Per-step extras reduced with the gradients: they cost no extra round trip.
struct StepSums {
  double count = 0;    // images this rank trained on in the step
  double loss_sum = 0; // loss × count
  double correct = 0;  // top-1 hits (train); 0 for distill
};

class DataParallel {
 public:
  // world 1: every operation is a no-op (the single-process code path).
  // backend: "gloo" or "nccl" ("nccl" is refused: see dist.cpp). timeout: Gloo's per-operation
  // timeout and the TCPStore's (rendezvous included).
  DataParallel(const DistEnv& env, const std::string& backend, std::chrono::milliseconds timeout);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return m_env.rank; }
  int world() const { return m_env.world; }
  bool is_main() const { return m_env.rank == 0; }
  bool distributed() const { return m_env.world > 1; }

  // Rank 0's values into every rank's tensors (parameters at the start of a run).
  void broadcast(const std::vector<torch::Tensor>& tensors);

  // One step's gradient all-reduce, in two halves around backward(). The trainable
  // parameters are cut, in reverse order (the order backward produces their gradients), into
  // flat float32 buckets of at most bucket_bytes (a larger tensor gets its own); `sums` rides
  // at the end of the last bucket. Every rank issues one all-reduce per bucket, in bucket
  // order, whatever happens in its backward.
  //
  // begin_step, before backward: writes `sums` (known before backward) into the last bucket;
  // with `overlap`, arms a hook on every parameter that copies its gradient into its bucket
  // as backward produces it and starts the bucket's all-reduce (asynchronously) as soon as
  // the bucket and every bucket before it are complete. Hooks are registered once per
  // parameter list and do nothing outside begin_step .. end_step.
  //
  // end_step, after backward: fills what no hook delivered (every gradient without
  // `overlap`; with it, parameters unused in the step, or all of them on a rank whose share
  // was empty and that had no backward) from .grad, or zeros where a parameter has none,
  // starts the remaining buckets in order, waits for every bucket, and writes the sums over
  // ranks divided by the global count into .grad. On return every parameter has a gradient
  // and `sums` holds the global sums. With overlap on or off the buckets, their contents and
  // their order are the same, so the results are bit-identical.
  void begin_step(const std::vector<torch::Tensor>& params, const StepSums& sums);
  void end_step(StepSums& sums);
  bool overlap = true;  // --dist-overlap

  // In-place sum over ranks (validation counts).
  void sum(std::vector<double>& values);

  const CommStats& stats() const { return m_stats; }
  void reset_stats() { m_stats = {}; }
  std::int64_t bucket_bytes = 25 << 20;  // PyTorch DDP's default bucket cap

 private:
  void fail(const char* what, const std::exception& e) const;
  struct Plan;
  DistEnv m_env;
  std::chrono::milliseconds m_timeout;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  CommStats m_stats;
  std::vector<torch::Tensor> m_local_params;  // world 1: begin_step's parameters for end_step
  std::chrono::steady_clock::duration m_begin_time{};
  long m_kill_after = -1;  // test hook SWINSCOPE_TEST_KILL (dist.cpp)
  int m_kill_signal = 9;
};

// Items [begin, end) of `n` that rank `rank` of `world` takes (validation shards).
std::pair<std::size_t, std::size_t> rank_range(std::size_t n, int rank, int world);

// Rank `rank`'s share of `order` cut into global batches of `batch`: of every global batch
// (m items; the last may be short) it takes items [r·m/W, (r+1)·m/W). The union over ranks
// of a step's items is exactly that step's single-process batch, in the same order.
std::vector<std::size_t> rank_shard(const std::vector<std::size_t>& order, int batch, int rank, int world);

}  // namespace swinscope::train
