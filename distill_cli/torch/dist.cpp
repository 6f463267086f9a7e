#include "distill_cli/torch/dist.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>

#include "engine/error.h"

#ifdef SWINSCOPE_HAVE_C10D
// ProcessGroupGloo.hpp is empty unless USE_C10D_GLOO is defined (libtorch's CMake config
// defines it); Debian's libtorch-dev ships the c10d headers and exports the symbols, and
// libgloo-dev provides the gloo headers they include.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace swinscope::train {

namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

int env_int(const char* name, int fallback, int lo, int hi) {
  const auto v = env(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    const long x = std::stol(*v, &used);
    if (used == v->size() && x >= lo && x <= hi) return static_cast<int>(x);
  } catch (const std::exception&) {
  }
  throw Error(std::string("environment variable ") + name + "='" + *v + "' is not an integer in " + std::to_string(lo) +
              ".." + std::to_string(hi));
}

// The first line of a c10d / gloo message (they append C++ backtraces).
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

DistEnv dist_env_from_environment() {
  DistEnv e;
  e.world = env_int("WORLD_SIZE", 1, 1, 1 << 16);
  e.rank = env_int("RANK", 0, 0, e.world - 1);
  e.local_rank = env_int("LOCAL_RANK", e.rank, 0, e.world - 1);
  if (auto a = env("MASTER_ADDR")) e.master_addr = *a;
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  e.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  if (e.world > 1 && !env("MASTER_ADDR"))
    throw Error("WORLD_SIZE is " + std::to_string(e.world) + " but MASTER_ADDR is not set (start the workers with "
                "`swinscope-cli launch` or torchrun, which set it)");
  return e;
}

std::pair<std::size_t, std::size_t> rank_range(std::size_t n, int rank, int world) {
  const auto w = static_cast<std::size_t>(world), r = static_cast<std::size_t>(rank);
  return {n * r / w, n * (r + 1) / w};
}

std::vector<std::size_t> rank_shard(const std::vector<std::size_t>& order, int batch, int rank, int world) {
  std::vector<std::size_t> out;
  const auto B = static_cast<std::size_t>(batch);
  for (std::size_t first = 0; first < order.size(); first += B) {
    const std::size_t m = std::min(B, order.size() - first);
    const auto [lo, hi] = rank_range(m, rank, world);
    out.insert(out.end(), order.begin() + static_cast<long>(first + lo), order.begin() + static_cast<long>(first + hi));
  }
  return out;
}

bool dist_compiled_in() {
#ifdef SWINSCOPE_HAVE_C10D
  return true;
#else
  return false;
#endif
}

#ifdef SWINSCOPE_HAVE_C10D
// The bucket layout of one parameter list and the state of the step in flight. The hooks on
// the parameters hold it weakly: when another list replaces it (distill's next block), its
// hooks stay on the old tensors, which no longer require grad, and find it gone.
struct DataParallel::Plan {
  struct Bucket {
    std::vector<std::size_t> params;       // indices into `params`, in the order they are packed
    std::vector<torch::Tensor> flat;       // one float32 buffer: the gradients (+ 3 sums in the last)
    c10::intrusive_ptr<c10d::Work> work;  // its all-reduce, once started
    std::size_t pending = 0;               // parameters not yet in the buffer this step
  };
  c10d::ProcessGroupGloo* pg = nullptr;
  std::vector<torch::Tensor> params;
  std::vector<Bucket> buckets;
  std::vector<std::size_t> bucket_of;
  std::vector<std::int64_t> offset_of;
  std::vector<char> ready;  // this step: the gradient is in its bucket
  std::size_t next = 0;     // the first bucket whose all-reduce has not started
  bool armed = false, hooked = false;
  std::exception_ptr error; // from starting an all-reduce in a hook, rethrown by end_step
  std::mutex mu;

  bool matches(const std::vector<torch::Tensor>& ps) const {
    if (ps.size() != params.size()) return false;
    for (std::size_t i = 0; i < ps.size(); ++i)
      if (ps[i].unsafeGetTensorImpl() != params[i].unsafeGetTensorImpl()) return false;
    return true;
  }

  // Starts every complete bucket from `next` on, in order, stopping at the first incomplete
  // one: every rank issues the same collectives in the same order whatever order its
  // gradients arrive in.
  void launch_ready() {
    while (next < buckets.size() && buckets[next].pending == 0) {
      buckets[next].work = pg->allreduce(buckets[next].flat);
      ++next;
    }
  }

  // The hook: parameter i's whole gradient (a leaf's hook runs once, on the summed gradient,
  // before AccumulateGrad adds it to .grad).
  void on_grad(std::size_t i, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mu);
    if (!armed || error) return;
    try {
      if (ready[i]) throw Error("a parameter's gradient arrived twice in one backward");
      torch::NoGradGuard ng;
      auto& b = buckets[bucket_of[i]];
      b.flat[0].narrow(0, offset_of[i], params[i].numel()).copy_(grad.detach().reshape({-1}));
      ready[i] = 1;
      if (--b.pending == 0) launch_ready();
    } catch (...) {
      error = std::current_exception();
    }
  }
};
#endif

struct DataParallel::Impl {
#ifdef SWINSCOPE_HAVE_C10D
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::shared_ptr<Plan> plan;
#endif
};

DataParallel::DataParallel(const DistEnv& e, const std::string& backend, std::chrono::milliseconds timeout)
    : m_env(e), m_timeout(timeout), m_impl(std::make_unique<Impl>()) {
  if (backend != "gloo" && backend != "nccl")
    throw Error("--dist-backend must be gloo or nccl, found '" + backend + "'");
  if (m_env.world <= 1) return;
  const std::string who = "rank " + std::to_string(m_env.rank) + "/" + std::to_string(m_env.world);
  if (backend == "nccl")
    throw Error(who + ": --dist-backend nccl: this build has no NCCL process group (Debian's libtorch-dev is CPU-only and "
                "ships none); use --dist-backend gloo, which all-reduces CUDA gradients through host memory");
#ifndef SWINSCOPE_HAVE_C10D
  throw Error(who + ": WORLD_SIZE is " + std::to_string(m_env.world) +
                  ", but this swinscope-cli was built without the distributed path (Gloo's headers were not found: "
                  "install libgloo-dev, reconfigure and rebuild)",
              Error::Kind::Runtime);
#else
  // Test hook (tests/test_dist.cpp): SWINSCOPE_TEST_KILL=R:N makes rank R raise SIGKILL on
  // itself before its N-th gradient all-reduce, as a worker lost to the OOM killer would die;
  // R:N:stop raises SIGSTOP instead (a hung worker, which only the timeout detects).
  if (auto k = env("SWINSCOPE_TEST_KILL")) {
    const auto colon = k->find(':');
    if (colon != std::string::npos && std::atoi(k->substr(0, colon).c_str()) == m_env.rank) {
      m_kill_after = std::atol(k->substr(colon + 1).c_str());
      m_kill_signal = k->find(":stop") != std::string::npos ? SIGSTOP : SIGKILL;
    }
  }
  // Test hook: SWINSCOPE_DIST_BUCKET_BYTES=N caps the buckets at N bytes (many buckets on
  // the small test models).
  bucket_bytes = env_int("SWINSCOPE_DIST_BUCKET_BYTES", static_cast<int>(bucket_bytes), 4, 1 << 30);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(m_env.master_port);
    so.isServer = m_env.rank == 0 && !m_env.agent_store;
    so.numWorkers = m_env.world;
    so.waitWorkers = !m_env.agent_store;
    so.timeout = timeout;
    m_impl->store = c10::make_intrusive<c10d::TCPStore>(m_env.master_addr, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // One node: every rank on the loopback interface. Otherwise GLOO_SOCKET_IFNAME as torch's
    // own init does, or the address this host's name resolves to.
    const bool loopback = m_env.master_addr == "localhost" || m_env.master_addr.rfind("127.", 0) == 0;
    if (auto ifname = env("GLOO_SOCKET_IFNAME"))
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(*ifname));
    else if (loopback)
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    m_impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(m_impl->store, m_env.rank, m_env.world, opts);
  } catch (const c10::Error& x) {
    throw Error(who + ": cannot join the process group at " + m_env.master_addr + ":" + std::to_string(m_env.master_port) +
                    " within --dist-timeout " + std::to_string(timeout.count() / 1000) + " s (" +
                    first_line(x.what_without_backtrace()) + ")",
                Error::Kind::Runtime);
  }
#endif
}

DataParallel::~DataParallel() = default;

void DataParallel::fail(const char* what, const std::exception& e) const {
  const auto* c = dynamic_cast<const c10::Error*>(&e);
  throw Error("rank " + std::to_string(m_env.rank) + "/" + std::to_string(m_env.world) + ": " + what +
                  " failed: another worker died or did not answer within --dist-timeout " +
                  std::to_string(m_timeout.count() / 1000) + " s (" + first_line(c ? c->what_without_backtrace() : e.what()) + ")",
              Error::Kind::Runtime);
}

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
  if (!distributed() || tensors.empty()) return;
#ifdef SWINSCOPE_HAVE_C10D
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : tensors) flat_parts.push_back(t.detach().to(torch::kCPU, torch::kFloat32).reshape({-1}));
  std::vector<torch::Tensor> buf{torch::cat(flat_parts)};
  try {
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    m_impl->pg->broadcast(buf, o)->wait();
  } catch (const std::exception& e) {
    fail("the broadcast of the parameters", e);
  }
  std::int64_t off = 0;
  for (const auto& t : tensors) {
    const auto n = t.numel();
    t.detach().copy_(buf[0].narrow(0, off, n).view(t.sizes()));
    off += n;
  }
  // Measurement hook (bench/README.md): SWINSCOPE_DIST_PROBE=N times N back-to-back all-reduces
  // of one gradient-sized buffer with no training around them, i.e. the transfer cost alone,
  // without the wait for a slower rank that the per-step figure includes.
  if (const int probes = env_int("SWINSCOPE_DIST_PROBE", 0, 0, 100000); probes > 0) {
    std::vector<torch::Tensor> g{torch::zeros({off + 3}, torch::kFloat32)};
    std::vector<double> ms;
    try {
      m_impl->pg->allreduce(g)->wait();  // line up
      for (int i = 0; i < probes; ++i) {
        const auto t0 = Clock::now();
        m_impl->pg->allreduce(g)->wait();
        ms.push_back(1e3 * std::chrono::duration<double>(Clock::now() - t0).count());
      }
    } catch (const std::exception& e) {
      fail("the all-reduce probe", e);
    }
    std::sort(ms.begin(), ms.end());
    if (is_main())
      std::cerr << "all-reduce probe: " << (off + 3) * 4 << " bytes, " << m_env.world << " ranks: median "
                << ms[ms.size() / 2] << " ms, min " << ms.front() << " ms over " << probes << "\n";
  }
#endif
}

void DataParallel::begin_step(const std::vector<torch::Tensor>& params, const StepSums& sums) {
  if (!distributed()) {
    m_local_params = params;
    return;
  }
#ifdef SWINSCOPE_HAVE_C10D
  if (m_kill_after >= 0 && m_stats.steps + 1 >= m_kill_after) {
    std::cerr << "rank " << m_env.rank << ": SWINSCOPE_TEST_KILL: raising " << (m_kill_signal == SIGSTOP ? "SIGSTOP" : "SIGKILL")
              << "\n" << std::flush;
    std::raise(m_kill_signal);
  }
  const auto t0 = Clock::now();
  auto& plan = m_impl->plan;
  if (!plan || !plan->matches(params)) {
    // Buckets in reverse parameter order, each at most bucket_bytes (a larger tensor gets its
    // own); the three step sums at the end of the last.
    plan = std::make_shared<Plan>();
    plan->pg = m_impl->pg.get();
    plan->params = params;
    plan->bucket_of.resize(params.size());
    plan->offset_of.resize(params.size());
    plan->ready.assign(params.size(), 0);
    const std::int64_t cap = std::max<std::int64_t>(1, bucket_bytes / 4);
    std::int64_t in_bucket = 0;
    std::vector<std::int64_t> sizes;
    for (std::size_t k = params.size(); k-- > 0;) {
      const auto n = params[k].numel();
      if (plan->buckets.empty() || (!plan->buckets.back().params.empty() && in_bucket + n > cap)) {
        if (!plan->buckets.empty()) sizes.push_back(in_bucket);
        plan->buckets.emplace_back();
        in_bucket = 0;
      }
      plan->bucket_of[k] = plan->buckets.size() - 1;
      plan->offset_of[k] = in_bucket;
      plan->buckets.back().params.push_back(k);
      in_bucket += n;
    }
    if (plan->buckets.empty()) plan->buckets.emplace_back();
    sizes.push_back(in_bucket + 3);
    for (std::size_t b = 0; b < plan->buckets.size(); ++b)
      plan->buckets[b].flat = {torch::zeros({sizes[b]}, torch::kFloat32)};
  }
  std::lock_guard<std::mutex> lock(plan->mu);
  if (overlap && !plan->hooked) {
    const std::weak_ptr<Plan> weak = plan;
    for (std::size_t i = 0; i < params.size(); ++i)
      params[i].register_hook([weak, i](torch::Tensor grad) {
        if (auto p = weak.lock()) p->on_grad(i, grad);
      });
    plan->hooked = true;
  }
  for (auto& b : plan->buckets) {
    b.pending = b.params.size();
    b.work.reset();
  }
  std::fill(plan->ready.begin(), plan->ready.end(), 0);
  plan->next = 0;
  plan->error = nullptr;
  auto& last = plan->buckets.back().flat[0];
  const auto tail = last.narrow(0, last.numel() - 3, 3);
  tail[0].fill_(static_cast<float>(sums.count));
  tail[1].fill_(static_cast<float>(sums.loss_sum));
  tail[2].fill_(static_cast<float>(sums.correct));
  plan->armed = overlap;
  // A bucket with no parameter (an empty list) is complete before backward.
  try {
    if (overlap) plan->launch_ready();
  } catch (const std::exception& e) {
    fail("the gradient all-reduce", e);
  }
  m_begin_time = Clock::now() - t0;
#else
  (void)params;
  (void)sums;
#endif
}

void DataParallel::end_step(StepSums& sums) {
  if (!distributed()) {
    if (sums.count > 0)
      for (const auto& p : m_local_params)
        if (p.grad().defined()) p.mutable_grad().div_(sums.count);
    m_local_params.clear();
    return;
  }
#ifdef SWINSCOPE_HAVE_C10D
  const auto t0 = Clock::now();
  if (!m_impl->plan) throw Error("DataParallel::end_step without begin_step");
  Plan& plan = *m_impl->plan;
  std::lock_guard<std::mutex> lock(plan.mu);
  plan.armed = false;
  m_stats.early += static_cast<long>(plan.next);
  torch::NoGradGuard ng;
  try {
    if (plan.error) std::rethrow_exception(plan.error);
    // What no hook delivered: every gradient without overlap; with it, parameters unused in
    // this step, or all of them on a rank without backward. Then the remaining buckets, in order.
    for (std::size_t b = plan.next; b < plan.buckets.size(); ++b) {
      auto& bucket = plan.buckets[b];
      for (const auto i : bucket.params) {
        if (plan.ready[i]) continue;
        const auto& p = plan.params[i];
        auto slot = bucket.flat[0].narrow(0, plan.offset_of[i], p.numel());
        if (p.grad().defined())
          slot.copy_(p.grad().detach().reshape({-1}));
        else
          slot.zero_();
        plan.ready[i] = 1;
      }
      bucket.pending = 0;
    }
    plan.launch_ready();
    for (auto& b : plan.buckets) b.work->wait();
  } catch (const std::exception& e) {
    fail("the gradient all-reduce", e);
  }
  const auto& last = plan.buckets.back().flat[0];
  const auto tail = last.narrow(0, last.numel() - 3, 3);
  sums.count = tail[0].item<double>();
  sums.loss_sum = tail[1].item<double>();
  sums.correct = tail[2].item<double>();
  const double inv = sums.count > 0 ? 1.0 / sums.count : 0.0;
  for (const auto& bucket : plan.buckets) {
    const auto& flat = bucket.flat[0];
    m_stats.bytes += flat.numel() * 4;
    for (const auto i : bucket.params) {
      const auto& p = plan.params[i];
      auto g = flat.narrow(0, plan.offset_of[i], p.numel()).view(p.sizes()).mul(inv).to(p.device(), p.scalar_type());
      if (p.grad().defined()) p.mutable_grad().copy_(g);
      else p.mutable_grad() = g;
    }
  }
  m_stats.buckets = static_cast<int>(plan.buckets.size());
  ++m_stats.steps;
  m_stats.seconds += std::chrono::duration<double>(Clock::now() - t0 + m_begin_time).count();
#else
  (void)sums;
#endif
}

void DataParallel::sum(std::vector<double>& values) {
  if (!distributed() || values.empty()) return;
#ifdef SWINSCOPE_HAVE_C10D
  std::vector<torch::Tensor> buf{torch::tensor(values, torch::kFloat64)};
  try {
    m_impl->pg->allreduce(buf)->wait();
  } catch (const std::exception& e) {
    fail("an all-reduce of counts", e);
  }
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = buf[0][static_cast<long>(i)].item<double>();
#endif
}

}  // namespace swinscope::train
