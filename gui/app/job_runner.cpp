#include "gui/app/job_runner.h"

#include <exception>

namespace swinscope::gui {

JobRunner::JobRunner(QObject* parent) : QObject(parent) { m_thread = std::thread([this] { loop(); }); }

JobRunner::~JobRunner() { shutdown(); }

quint64 JobRunner::submit(const QString& label, Work work) {
  quint64 id = 0;
  {
    std::lock_guard lock(m_mutex);
    id = m_nextId++;
    m_queue.push_back({id, label, std::move(work), std::make_shared<std::atomic<bool>>(false)});
  }
  m_cv.notify_one();
  emit queueChanged();
  return id;
}

void JobRunner::cancel(quint64 id) {
  bool dropped = false;
  {
    std::lock_guard lock(m_mutex);
    if (id == m_runningId && m_runningFlag) m_runningFlag->store(true);
    for (auto it = m_queue.begin(); it != m_queue.end(); ++it)
      if (it->id == id) {
        m_queue.erase(it);
        dropped = true;
        break;
      }
  }
  if (dropped) emit queueChanged();
}

void JobRunner::cancelAll() {
  {
    std::lock_guard lock(m_mutex);
    m_queue.clear();
    if (m_runningFlag) m_runningFlag->store(true);
  }
  emit queueChanged();
}

void JobRunner::shutdown() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
    m_queue.clear();
    if (m_runningFlag) m_runningFlag->store(true);
  }
  m_cv.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

bool JobRunner::idle() const {
  std::lock_guard lock(m_mutex);
  return m_queue.empty() && m_runningId == 0;
}

int JobRunner::pendingCount() const {
  std::lock_guard lock(m_mutex);
  return static_cast<int>(m_queue.size());
}

QString JobRunner::runningLabel() const {
  std::lock_guard lock(m_mutex);
  return m_runningLabel;
}

quint64 JobRunner::runningId() const {
  std::lock_guard lock(m_mutex);
  return m_runningId;
}

void JobRunner::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
      if (m_stop) return;
      job = std::move(m_queue.front());
      m_queue.pop_front();
      m_runningId = job.id;
      m_runningLabel = job.label;
      m_runningFlag = job.flag;
    }
    emit queueChanged();
    emit started(job.id, job.label);
    QString error;
    try {
      job.work(JobToken(job.id, job.flag));
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    } catch (...) {
      error = tr("unknown error");
    }
    const bool cancelled = job.flag->load();
    {
      std::lock_guard lock(m_mutex);
      m_runningId = 0;
      m_runningLabel.clear();
      m_runningFlag.reset();
    }
    emit finished(job.id, job.label, cancelled, error);
    emit queueChanged();
  }
}

}  // namespace swinscope::gui
