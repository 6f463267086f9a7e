#pragma once
// What the tabs share: the two model slots, the job runner and the message channel.
// Slots change only on the UI thread, from load results; jobs get a SlotRun copy.
#include <QObject>
#include <QString>

#include <memory>
#include <optional>

#include "gui/app/job_runner.h"
#include "gui/app/jobs.h"
#include "gui/widgets/message_bar.h"

namespace swinscope::gui {

class AppContext : public QObject {
  Q_OBJECT
 public:
  struct Slot {
    std::shared_ptr<const Model> model;
    std::shared_ptr<PlanCache> plans;  // null: empty, or cannot run (planError)
    QString planError;
    BackendChoice backend;
    QString backendRequest = QStringLiteral("auto");
    Variant variant = Variant::FP32;
    QString source;  // file path or random:...
    QString label;
    std::vector<StageKernel> kernels;
    double loadSeconds = 0;
    quint64 generation = 0;  // bumps whenever the model or its plan changes
    quint64 loadJob = 0;     // the load/reconfigure job in flight, 0 when none
    QString loadingWhat;
  };

  explicit AppContext(QObject* parent = nullptr);
  ~AppContext() override;

  JobRunner& runner() { return *m_runner; }
  JobResults& results() { return *m_results; }

  const Slot& slot(int i) const { return m_slots[i]; }
  bool hasModel(int i) const { return m_slots[i].model != nullptr; }
  bool canRun(int i) const { return m_slots[i].plans != nullptr; }
  bool isLoading(int i) const { return m_slots[i].loadJob != 0; }
  SlotRun slotRun(int i) const;
  std::vector<SlotRun> runnableSlots() const;
  // The backend of the loaded slots, or what "auto" picks when none is loaded yet.
  BackendChoice backend() const;

  // `source`: a model file, or random:ARCH[:gelu|relu][:fp32|int8].
  void load(int slot, const QString& source);
  void loadRandom(int slot, const RandomSpec& spec);
  void reconfigure(int slot, const QString& backendRequest, std::optional<Variant> variant);
  void unload(int slot);

  // `action` owns the message (see MessageBar::showMessage); clearReports(action) when it succeeds.
  void report(MessageBar::Level level, const QString& text, const QString& action = {});
  void clearReports(const QString& action);
  static QString slotAction(int slot);  // "slot A": loading into a slot

 signals:
  void slotChanged(int slot);  // model arrived / reconfigured / removed / load finished
  void modelFileLoaded(const QString& path);  // for recent files
  void message(swinscope::gui::MessageBar::Level level, const QString& text, const QString& action);
  void reportsCleared(const QString& action);
  void backendKnown();

 private:
  void submitLoad(LoadRequest request, const QString& what);
  void onLoaded(quint64 job, const LoadedSlot& loaded);
  void onFinished(quint64 job, const QString& label, bool cancelled, const QString& error);

  JobResults* m_results = nullptr;
  JobRunner* m_runner = nullptr;
  Slot m_slots[2];
  BackendChoice m_detected;
  bool m_detectedKnown = false;
};

}  // namespace swinscope::gui
