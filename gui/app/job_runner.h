#pragma once
// One worker thread running jobs in submission order. Serial on purpose: every job drives
// all CPU cores through OpenMP (or one GPU), so two at once would only slow each other
// down and, worse, disturb the latencies the Profile tab measures.
//
// A job gets a JobToken; it checks cancelled() between batches/runs. Results travel back
// as value structs through queued signals carrying the job id (see JobResults); the UI
// drops a result whose id is no longer the one it waits for, so a cancelled job's late
// result never shows.
#include <QObject>
#include <QString>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace swinscope::gui {

class JobToken {
 public:
  JobToken(quint64 id, std::shared_ptr<std::atomic<bool>> flag) : m_id(id), m_flag(std::move(flag)) {}
  quint64 id() const { return m_id; }
  bool cancelled() const { return m_flag->load(std::memory_order_relaxed); }
  // For the engine's evaluate/classify, which poll an atomic between batches.
  const std::atomic<bool>* flag() const { return m_flag.get(); }

 private:
  quint64 m_id = 0;
  std::shared_ptr<std::atomic<bool>> m_flag;
};

class JobRunner : public QObject {
  Q_OBJECT
 public:
  using Work = std::function<void(const JobToken&)>;

  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;  // cancels everything and joins the worker

  // Queues `work`; returns its id (never 0). `label` is what the status bar shows.
  quint64 submit(const QString& label, Work work);
  // A queued job is dropped; a running one has its flag set (it stops at its next check).
  void cancel(quint64 id);
  void cancelAll();
  // Cancels everything and waits for the worker to finish what it is running.
  void shutdown();

  bool idle() const;
  int pendingCount() const;  // queued, not yet started
  QString runningLabel() const;
  quint64 runningId() const;

 signals:
  // Emitted from the worker thread: connections to UI objects are queued.
  void started(quint64 id, const QString& label);
  // `error` is empty unless the job threw; then it holds the exception's message.
  void finished(quint64 id, const QString& label, bool cancelled, const QString& error);
  void queueChanged();

 private:
  struct Job {
    quint64 id = 0;
    QString label;
    Work work;
    std::shared_ptr<std::atomic<bool>> flag;
  };
  void loop();

  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Job> m_queue;
  std::shared_ptr<std::atomic<bool>> m_runningFlag;
  quint64 m_runningId = 0;
  QString m_runningLabel;
  quint64 m_nextId = 1;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace swinscope::gui
