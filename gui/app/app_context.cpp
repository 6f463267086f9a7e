#include "gui/app/app_context.h"

#include <QFileInfo>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

AppContext::AppContext(QObject* parent) : QObject(parent) {
  m_results = new JobResults(this);
  m_runner = new JobRunner(this);
  connect(m_results, &JobResults::modelLoaded, this, &AppContext::onLoaded);
  connect(m_runner, &JobRunner::finished, this, &AppContext::onFinished);
  // Asking for CUDA initializes the driver (up to a second on a GPU machine): off the UI thread.
  m_runner->submit(tr("Detecting devices"), [this](const JobToken&) {
    BackendChoice c = choose_backend("auto");
    QMetaObject::invokeMethod(this, [this, c] {
      m_detected = c;
      m_detectedKnown = true;
      emit backendKnown();
    }, Qt::QueuedConnection);
  });
}

AppContext::~AppContext() {
  // The worker may be inside a job that refers to this object's results channel.
  m_runner->shutdown();
}

SlotRun AppContext::slotRun(int i) const {
  const auto& s = m_slots[i];
  SlotRun r;
  r.slot = i;
  r.model = s.model;
  r.plans = s.plans;
  r.generation = s.generation;
  r.label = s.label;
  r.variant = QString::fromUtf8(variant_name(s.variant).data(), static_cast<int>(variant_name(s.variant).size()));
  r.device = QString::fromStdString(s.backend.device);
  return r;
}

std::vector<SlotRun> AppContext::runnableSlots() const {
  std::vector<SlotRun> out;
  for (int i = 0; i < kSlotCount; ++i)
    if (canRun(i)) out.push_back(slotRun(i));
  return out;
}

BackendChoice AppContext::backend() const {
  for (const auto& s : m_slots)
    if (s.model && !s.backend.device.empty()) return s.backend;
  return m_detected;
}

void AppContext::load(int slot, const QString& source) {
  if (source.startsWith(QLatin1String("random:"))) {
    QString error;
    const auto spec = RandomSpec::fromText(source, &error);
    if (!spec) {
      report(MessageBar::Level::Error, tr("%1: %2").arg(slotName(slot), error));
      return;
    }
    loadRandom(slot, *spec);
    return;
  }
  LoadRequest r;
  r.slot = slot;
  r.path = source;
  r.backendRequest = m_slots[slot].backendRequest;
  submitLoad(std::move(r), tr("Loading %1 into %2").arg(QFileInfo(source).fileName(), slotName(slot)));
}

void AppContext::loadRandom(int slot, const RandomSpec& spec) {
  LoadRequest r;
  r.slot = slot;
  r.random = spec;
  r.backendRequest = m_slots[slot].backendRequest;
  submitLoad(std::move(r), tr("Creating %1 in %2").arg(spec.label(), slotName(slot)));
}

void AppContext::reconfigure(int slot, const QString& backendRequest, std::optional<Variant> variant) {
  const auto& s = m_slots[slot];
  if (!s.model) {
    m_slots[slot].backendRequest = backendRequest;
    return;
  }
  LoadRequest r;
  r.slot = slot;
  r.model = s.model;
  r.source = s.source;
  r.label = s.label;
  r.backendRequest = backendRequest;
  r.variant = variant;
  submitLoad(std::move(r), tr("Building the %1 plan").arg(slotName(slot)));
}

void AppContext::unload(int slot) {
  auto& s = m_slots[slot];
  if (s.loadJob) m_runner->cancel(s.loadJob);
  const QString request = s.backendRequest;
  const quint64 gen = s.generation + 1;
  s = Slot{};
  s.backendRequest = request;
  s.generation = gen;
  emit slotChanged(slot);
}

void AppContext::submitLoad(LoadRequest request, const QString& what) {
  auto& s = m_slots[request.slot];
  // A newer load supersedes one still waiting or running.
  if (s.loadJob) m_runner->cancel(s.loadJob);
  s.loadingWhat = what;
  s.loadJob = m_runner->submit(what, [this, request](const JobToken& token) {
    LoadedSlot loaded = runLoad(request, token);
    if (!token.cancelled()) emit m_results->modelLoaded(token.id(), loaded);
  });
  emit slotChanged(request.slot);
}

void AppContext::onLoaded(quint64 job, const LoadedSlot& loaded) {
  auto& s = m_slots[loaded.slot];
  if (job != s.loadJob) return;  // superseded or cancelled
  s.loadJob = 0;
  s.loadingWhat.clear();
  s.model = loaded.model;
  s.plans = loaded.plans;
  s.planError = loaded.planError;
  s.backend = loaded.backend;
  s.backendRequest = loaded.backendRequest;
  s.variant = loaded.variant;
  s.source = loaded.source;
  s.label = loaded.label;
  s.kernels = loaded.kernels;
  s.loadSeconds = loaded.seconds;
  ++s.generation;
  const QString name = slotName(loaded.slot);
  clearReports(slotAction(loaded.slot));
  if (!loaded.planError.isEmpty())
    report(MessageBar::Level::Warning, tr("%1: %2 is loaded but cannot run: %3").arg(name, loaded.label, loaded.planError), slotAction(loaded.slot));
  else
    report(MessageBar::Level::Info, tr("%1: %2 ready (%3 on %4, %5 s)")
                                        .arg(name, loaded.label, slotRun(loaded.slot).variant, QString::fromStdString(loaded.backend.device))
                                        .arg(loaded.seconds, 0, 'f', 1));
  if (!loaded.source.startsWith(QLatin1String("random:"))) emit modelFileLoaded(loaded.source);
  emit slotChanged(loaded.slot);
}

void AppContext::onFinished(quint64 job, const QString&, bool, const QString& error) {
  for (int i = 0; i < kSlotCount; ++i) {
    auto& s = m_slots[i];
    if (s.loadJob != job) continue;
    // Finished without delivering a model (onLoaded clears loadJob first): failed or cancelled.
    s.loadJob = 0;
    const QString what = s.loadingWhat;
    s.loadingWhat.clear();
    if (!error.isEmpty()) report(MessageBar::Level::Error, tr("%1: %2 failed: %3").arg(slotName(i), what, error), slotAction(i));
    emit slotChanged(i);
  }
}

void AppContext::report(MessageBar::Level level, const QString& text, const QString& action) { emit message(level, text, action); }
void AppContext::clearReports(const QString& action) { emit reportsCleared(action); }
QString AppContext::slotAction(int slot) { return QStringLiteral("slot ") + slotName(slot); }

}  // namespace swinscope::gui
