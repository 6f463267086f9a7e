#include "gui/app/plan_cache.h"

#include <algorithm>

namespace swinscope::gui {

PlanCache::PlanCache(std::shared_ptr<const Model> model, PlanOptions options)
    : m_model(std::move(model)), m_options(options) {}

void PlanCache::ensure(int batch) {
  batch = std::max(1, batch);
  if (m_plan && m_plan->max_batch() >= batch) return;
  PlanOptions o = m_options;
  o.max_batch = std::max(batch, m_plan ? m_plan->max_batch() : 1);
  m_plan.reset();  // the old plan's buffers go before the new ones are allocated
  m_warm.clear();
  m_plan = make_plan(*m_model, o);
}

void PlanCache::warm(int batch) {
  batch = std::max(1, batch);
  if (m_warm.count(batch)) return;
  const auto& c = m_model->config;
  std::vector<float> input(static_cast<std::size_t>(batch) * static_cast<std::size_t>(c.in_chans) * static_cast<std::size_t>(c.img_size) *
                           static_cast<std::size_t>(c.img_size), 0.f);
  std::vector<float> logits(static_cast<std::size_t>(batch) * static_cast<std::size_t>(c.num_classes));
  m_plan->run(input.data(), batch, logits.data());
  m_warm.insert(batch);
}

PlanCache::Handle PlanCache::acquire(int batch) {
  Handle h{std::unique_lock<std::mutex>(m_mutex), nullptr};
  ensure(batch);
  warm(batch);
  h.plan = m_plan.get();
  return h;
}

void PlanCache::build(int batch) {
  std::lock_guard lock(m_mutex);
  ensure(batch);
}

std::vector<StageKernel> PlanCache::kernels() {
  std::lock_guard lock(m_mutex);
  ensure(1);
  return m_plan->kernels();
}

}  // namespace swinscope::gui
