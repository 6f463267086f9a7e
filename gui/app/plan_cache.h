#pragma once
// A slot's compiled plan, shared by the jobs that use the slot. A Plan is not thread-safe
// and its first run at a new batch size builds that size's primitives, so one job at a
// time uses it, under the lock; a larger batch than the plan was built for rebuilds it.
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "engine/model.h"
#include "engine/plan.h"

namespace swinscope::gui {

class PlanCache {
 public:
  PlanCache(std::shared_ptr<const Model> model, PlanOptions options);

  // Runs f(plan) with a plan built for at least `batch` images that has already run a
  // batch of exactly `batch` once: the first run at a new size builds that size's
  // primitives, which must not count as the latency of the caller's images.
  template <class F>
  auto use(int batch, F&& f) {
    std::lock_guard lock(m_mutex);
    ensure(batch);
    warm(batch);
    return f(*m_plan);
  }
  // The plan locked for the caller, for a job that drives two plans in turn (profiling
  // interleaves A and B). The lock is released when the handle goes.
  struct Handle {
    std::unique_lock<std::mutex> lock;
    Plan* plan = nullptr;
  };
  Handle acquire(int batch);
  // Builds the plan now (for `batch`); throws the engine's Error when the model cannot
  // run as asked (unsupported variant, bad tensors), which is what loading should report.
  void build(int batch);
  std::vector<StageKernel> kernels();
  const PlanOptions& options() const { return m_options; }
  const Model& model() const { return *m_model; }

 private:
  void ensure(int batch);
  void warm(int batch);

  std::shared_ptr<const Model> m_model;
  PlanOptions m_options;
  std::mutex m_mutex;
  std::unique_ptr<Plan> m_plan;
  std::set<int> m_warm;  // batch sizes the current plan has run
};

}  // namespace swinscope::gui
