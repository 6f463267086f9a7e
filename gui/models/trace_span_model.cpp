#include "gui/models/trace_span_model.h"

#include <QBrush>

#include <algorithm>
#include <set>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

namespace {

// Each run's wall time: from trace.runs, or the extent of its spans when a trace has none.
std::vector<std::pair<int, double>> runTimes(const profiler::Trace& t) {
  std::vector<std::pair<int, double>> out;
  if (!t.runs.empty()) {
    for (const auto& r : t.runs) out.emplace_back(r.run, r.dur_us);
    return out;
  }
  std::map<int, double> ends;
  for (const auto& s : t.spans) ends[s.run] = std::max(ends[s.run], s.start_us + s.dur_us);
  for (const auto& [run, end] : ends) out.emplace_back(run, end);
  return out;
}

}  // namespace

int medianRun(const profiler::Trace& trace) {
  auto times = runTimes(trace);
  if (times.empty()) return 0;
  std::sort(times.begin(), times.end(), [](const auto& a, const auto& b) { return a.second < b.second || (a.second == b.second && a.first < b.first); });
  return times[(times.size() - 1) / 2].first;
}

TraceSpanModel::TraceSpanModel(QObject* parent) : QAbstractTableModel(parent) {}

void TraceSpanModel::setTraces(std::vector<profiler::Trace> traces, QStringList labels) {
  beginResetModel();
  m_traces.clear();
  for (std::size_t i = 0; i < traces.size(); ++i) {
    Loaded l;
    l.trace = std::move(traces[i]);
    l.stats = profiler::compute_stats(l.trace);
    l.label = static_cast<qsizetype>(i) < labels.size() ? labels[static_cast<qsizetype>(i)] : QString::number(i + 1);
    for (const auto& b : l.stats.block_kinds) l.medianUs[{b.block, b.kind}] = b.us.median;
    m_traces.push_back(std::move(l));
  }
  rebuild();
  endResetModel();
}

void TraceSpanModel::clear() { setTraces({}, {}); }

void TraceSpanModel::setRun(int run) {
  if (run == m_run) return;
  beginResetModel();
  m_run = run;
  rebuild();
  endResetModel();
}

void TraceSpanModel::setKernels(int trace, std::map<std::string, std::string> stageToKernel) {
  if (trace < 0 || trace >= traceCount()) return;
  m_traces[static_cast<std::size_t>(trace)].kernels = std::move(stageToKernel);
}

int TraceSpanModel::runCount() const {
  int n = 0;
  for (const auto& l : m_traces) n = std::max(n, static_cast<int>(runTimes(l.trace).size()));
  return n;
}

void TraceSpanModel::rebuild() {
  m_rows.clear();
  m_lanes.clear();
  m_extentUs = 0;
  for (std::size_t ti = 0; ti < m_traces.size(); ++ti) {
    auto& l = m_traces[ti];
    const auto times = runTimes(l.trace);
    l.shownRun = medianRun(l.trace);
    if (m_run != kMedianRun && std::any_of(times.begin(), times.end(), [&](const auto& p) { return p.first == m_run; }))
      l.shownRun = m_run;
    l.shownRunUs = 0;
    for (const auto& [run, us] : times)
      if (run == l.shownRun) l.shownRunUs = us;
    const auto leaf = profiler::select_spans(l.trace, profiler::kLeafSpans);
    std::set<int> blocks;
    std::vector<int> spans;
    for (std::size_t si = 0; si < l.trace.spans.size(); ++si) {
      const auto& s = l.trace.spans[si];
      if (s.run != l.shownRun || si >= leaf.size() || !leaf[si]) continue;
      spans.push_back(static_cast<int>(si));
      blocks.insert(s.block);
      m_extentUs = std::max(m_extentUs, s.start_us + s.dur_us);
    }
    m_extentUs = std::max(m_extentUs, l.shownRunUs);
    std::map<int, int> laneOf;
    for (int b : blocks) {
      laneOf[b] = static_cast<int>(m_lanes.size());
      m_lanes.push_back({static_cast<int>(ti), b,
                         b < 0 ? tr("%1 · embed / merge / head").arg(l.label) : tr("%1 · block %2").arg(l.label).arg(b)});
    }
    for (int si : spans)
      m_rows.push_back({static_cast<int>(ti), si, laneOf[l.trace.spans[static_cast<std::size_t>(si)].block]});
  }
}

std::vector<std::string> TraceSpanModel::kinds() const {
  std::set<std::string> seen;
  for (const auto& r : m_rows) seen.insert(m_traces[static_cast<std::size_t>(r.trace)].trace.spans[static_cast<std::size_t>(r.span)].kind);
  std::vector<std::string> out(seen.begin(), seen.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return stageOrder(a) < stageOrder(b); });
  return out;
}

QString TraceSpanModel::kernel(int trace, const std::string& kind) const {
  if (trace < 0 || trace >= traceCount()) return {};
  const auto& k = m_traces[static_cast<std::size_t>(trace)].kernels;
  const auto it = k.find(kind);
  return it == k.end() ? QString() : QString::fromStdString(it->second);
}

QString TraceSpanModel::describe(int row) const {
  if (row < 0 || row >= rowCount()) return {};
  const auto& r = m_rows[static_cast<std::size_t>(row)];
  const auto& l = m_traces[static_cast<std::size_t>(r.trace)];
  const auto& s = l.trace.spans[static_cast<std::size_t>(r.span)];
  QString t = QStringLiteral("<b>%1</b> — %2").arg(QString::fromStdString(s.name).toHtmlEscaped(), stageClass(s.kind));
  if (isGeluOnlyStage(s.kind)) t += tr(" <i>(removed by the GELU-less model)</i>");
  t += QStringLiteral("<br>%1 · %2 · run %3").arg(l.label.toHtmlEscaped(), s.block < 0 ? tr("outside the blocks") : tr("block %1").arg(s.block)).arg(s.run);
  t += tr("<br>start %1 µs, duration <b>%2 µs</b>").arg(s.start_us, 0, 'f', 3).arg(s.dur_us, 0, 'f', 3);
  if (l.shownRunUs > 0) t += tr("<br>%1 % of this run (%2)").arg(100.0 * s.dur_us / l.shownRunUs, 0, 'f', 2).arg(formatDuration(l.shownRunUs));
  if (const auto it = l.medianUs.find({s.block, s.kind}); it != l.medianUs.end() && l.stats.runs > 1)
    t += tr("<br>median over %1 runs: %2 µs").arg(l.stats.runs).arg(it->second, 0, 'f', 3);
  const QString k = kernel(r.trace, s.kind);
  if (!k.isEmpty()) t += tr("<br>kernel: %1").arg(k.toHtmlEscaped());
  return t;
}

std::vector<int> TraceSpanModel::findSpans(const QString& text) const {
  std::vector<int> out;
  const QString needle = text.trimmed();
  if (needle.isEmpty()) return out;
  for (std::size_t i = 0; i < m_rows.size(); ++i) {
    const auto& r = m_rows[i];
    const auto& s = m_traces[static_cast<std::size_t>(r.trace)].trace.spans[static_cast<std::size_t>(r.span)];
    if (QString::fromStdString(s.name).contains(needle, Qt::CaseInsensitive) ||
        QString::fromStdString(s.kind).contains(needle, Qt::CaseInsensitive))
      out.push_back(static_cast<int>(i));
  }
  return out;
}

TraceSpanModel::RangeSummary TraceSpanModel::summarizeRange(double t0, double t1) const {
  RangeSummary out;
  out.t0 = std::min(t0, t1);
  out.t1 = std::max(t0, t1);
  std::vector<std::map<std::string, double>> byKind(m_traces.size());
  out.traces.resize(m_traces.size());
  for (std::size_t t = 0; t < m_traces.size(); ++t) out.traces[t].label = m_traces[t].label;
  for (const auto& r : m_rows) {
    const auto& s = m_traces[static_cast<std::size_t>(r.trace)].trace.spans[static_cast<std::size_t>(r.span)];
    const double overlap = std::min(out.t1, s.start_us + s.dur_us) - std::max(out.t0, s.start_us);
    if (overlap <= 0 && !(s.dur_us == 0 && s.start_us >= out.t0 && s.start_us <= out.t1)) continue;
    auto& pt = out.traces[static_cast<std::size_t>(r.trace)];
    ++pt.spans;
    pt.coveredUs += std::max(0.0, overlap);
    byKind[static_cast<std::size_t>(r.trace)][s.kind] += std::max(0.0, overlap);
  }
  for (std::size_t t = 0; t < m_traces.size(); ++t) {
    auto& k = out.traces[t].kinds;
    k.assign(byKind[t].begin(), byKind[t].end());
    std::stable_sort(k.begin(), k.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  }
  return out;
}

QString TraceSpanModel::RangeSummary::text(int topKinds) const {
  QStringList lines;
  lines << tr("Selection %1–%2 µs: %3 µs").arg(t0, 0, 'f', 1).arg(t1, 0, 'f', 1).arg(durationUs(), 0, 'f', 1);
  for (const auto& pt : traces) {
    QStringList kinds;
    for (int i = 0; i < topKinds && i < static_cast<int>(pt.kinds.size()); ++i) {
      const auto& [kind, us] = pt.kinds[static_cast<std::size_t>(i)];
      kinds << QStringLiteral("%1 %2 %").arg(QString::fromStdString(kind)).arg(durationUs() > 0 ? 100.0 * us / durationUs() : 0.0, 0, 'f', 1);
    }
    lines << tr("%1: %n span(s), %2 µs in spans; %3", nullptr, pt.spans).arg(pt.label).arg(pt.coveredUs, 0, 'f', 1).arg(kinds.join(QStringLiteral(", ")));
  }
  return lines.join(QLatin1Char('\n'));
}

std::vector<double> TraceSpanModel::durationsOf(int trace, const std::string& kind) const {
  std::vector<double> out;
  if (trace < 0 || trace >= traceCount()) return out;
  const auto& t = m_traces[static_cast<std::size_t>(trace)].trace;
  const std::vector<bool> leaf = profiler::select_spans(t, profiler::kLeafSpans);
  for (std::size_t i = 0; i < t.spans.size(); ++i)
    if (leaf[i] && t.spans[i].kind == kind) out.push_back(t.spans[i].dur_us);
  return out;
}

int TraceSpanModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(m_rows.size()); }
int TraceSpanModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant TraceSpanModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto& r = m_rows[static_cast<std::size_t>(index.row())];
  const auto& l = m_traces[static_cast<std::size_t>(r.trace)];
  const auto& s = l.trace.spans[static_cast<std::size_t>(r.span)];
  switch (role) {
    case Qt::DisplayRole:
      switch (index.column()) {
        case TraceColumn: return l.label;
        case RunColumn: return s.run;
        case BlockColumn: return s.block < 0 ? QStringLiteral("–") : QString::number(s.block);
        case StageColumn: return QString::fromStdString(s.name);
        case ClassColumn: return stageClass(s.kind);
        case StartColumn: return QString::number(s.start_us, 'f', 3);
        case DurationColumn: return QString::number(s.dur_us, 'f', 3);
        default: return {};
      }
    case Qt::ToolTipRole: return describe(index.row());
    case Qt::DecorationRole: return index.column() == StageColumn ? QVariant(kindColour(s.kind)) : QVariant();
    case StartRole: return s.start_us;
    case DurationRole: return s.dur_us;
    case KindRole: return QString::fromStdString(s.kind);
    case ColourRole: return kindColour(s.kind);
    case LaneRole: return r.lane;
    case TraceRole: return r.trace;
    case BlockRole: return s.block;
    case GeluOnlyRole: return isGeluOnlyStage(s.kind);
    case MedianRole: {
      const auto it = l.medianUs.find({s.block, s.kind});
      return it == l.medianUs.end() ? QVariant() : QVariant(it->second);
    }
    default: return {};
  }
}

QVariant TraceSpanModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case TraceColumn: return tr("Trace");
    case RunColumn: return tr("Run");
    case BlockColumn: return tr("Block");
    case StageColumn: return tr("Stage");
    case ClassColumn: return tr("Type");
    case StartColumn: return tr("Start (µs)");
    case DurationColumn: return tr("Duration (µs)");
    default: return {};
  }
}

}  // namespace swinscope::gui
