#include "gui/models/eval_models.h"

#include <QBrush>
#include <QColor>
#include <QFileInfo>

#include <unordered_map>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

namespace {

QString percent(double v) { return QString::number(100.0 * v, 'f', 2) + QStringLiteral(" %"); }

std::string predictedName(const EvalSlotResult& r, std::size_t i) {
  const int p = r.result.predicted[i];
  if (p < 0) return {};
  return p < static_cast<int>(r.classNames.size()) ? r.classNames[static_cast<std::size_t>(p)] : std::to_string(p);
}

}  // namespace

namespace {

// Calls f(i, j) for every image i of `a` that is image j of `b`: by index when both list the
// dataset in the same order, by path otherwise.
template <class F>
void forEachPair(const EvalSlotResult& a, const EvalSlotResult& b, F&& f) {
  const std::size_t na = std::min(a.images.size(), a.result.predicted.size());
  const std::size_t nb = std::min(b.images.size(), b.result.predicted.size());
  bool sameOrder = na == nb;
  for (std::size_t i = 0; sameOrder && i < na; ++i) sameOrder = a.images[i] == b.images[i];
  if (sameOrder) {
    for (std::size_t i = 0; i < na; ++i) f(i, i);
    return;
  }
  std::unordered_map<std::string, std::size_t> where;
  for (std::size_t j = 0; j < nb; ++j) where.emplace(b.images[j].string(), j);
  for (std::size_t i = 0; i < na; ++i)
    if (auto it = where.find(a.images[i].string()); it != where.end()) f(i, it->second);
}

bool isRight(const EvalSlotResult& r, std::size_t i) { return i < r.labels.size() && r.result.predicted[i] == r.labels[i]; }

}  // namespace

PredictionAgreement predictionAgreement(const EvalSlotResult& a, const EvalSlotResult& b) {
  PredictionAgreement out;
  forEachPair(a, b, [&](std::size_t i, std::size_t j) {
    const auto pa = predictedName(a, i);
    const auto pb = predictedName(b, j);
    if (pa.empty() || pb.empty()) return;
    ++out.compared;
    if (pa == pb) ++out.agreed;
  });
  return out;
}

profiler::McNemarTable mcnemarTable(const EvalSlotResult& a, const EvalSlotResult& b) {
  std::vector<bool> ra, rb;
  forEachPair(a, b, [&](std::size_t i, std::size_t j) {
    if (a.result.predicted[i] < 0 || b.result.predicted[j] < 0) return;
    ra.push_back(isRight(a, i));
    rb.push_back(isRight(b, j));
  });
  return profiler::mcnemar_table(ra, rb);
}

std::vector<FlippedImage> flippedImages(const EvalSlotResult& a, const EvalSlotResult& b) {
  std::vector<FlippedImage> out;
  forEachPair(a, b, [&](std::size_t i, std::size_t j) {
    const auto pa = predictedName(a, i);
    const auto pb = predictedName(b, j);
    if (pa.empty() || pb.empty() || pa == pb) return;
    FlippedImage f;
    f.path = QString::fromStdString(a.images[i].string());
    f.index = static_cast<long>(i);
    const int label = i < a.labels.size() ? a.labels[i] : -1;
    f.truth = label >= 0 && label < static_cast<int>(a.classNames.size()) ? QString::fromStdString(a.classNames[static_cast<std::size_t>(label)])
                                                                        : QString::number(label);
    f.a = QString::fromStdString(pa);
    f.b = QString::fromStdString(pb);
    f.aRight = isRight(a, i);
    f.bRight = isRight(b, j);
    out.push_back(std::move(f));
  });
  return out;
}

// ---- FlippedImagesModel ----

FlippedImagesModel::FlippedImagesModel(QObject* parent) : QAbstractTableModel(parent) {}

void FlippedImagesModel::setResults(const std::optional<EvalSlotResult>& a, const std::optional<EvalSlotResult>& b,
                                    const QHash<QString, QImage>& thumbnails) {
  beginResetModel();
  m_rows.clear();
  m_table.reset();
  m_thumbnails = thumbnails;
  if (a && b) {
    m_rows = flippedImages(*a, *b);
    m_table = mcnemarTable(*a, *b);
  }
  endResetModel();
}

void FlippedImagesModel::clear() { setResults(std::nullopt, std::nullopt); }

QString FlippedImagesModel::headline() const {
  if (!m_table) return tr("Evaluate A and B on one dataset to see where they disagree.");
  const auto& t = *m_table;
  const double p = profiler::mcnemar_exact_p(t);
  return tr("<b>%1 image(s) where A and B predict different classes.</b> Of %2 images: both right %3 · A right, B wrong %4 · "
            "A wrong, B right %5 · both wrong %6. <b>McNemar exact p = %7</b>: %8")
      .arg(m_rows.size())
      .arg(t.total())
      .arg(t.both_correct)
      .arg(t.a_only)
      .arg(t.b_only)
      .arg(t.both_wrong)
      .arg(p, 0, 'g', 3)
      .arg(p < 0.05 ? tr("A and B differ in accuracy on this test set.")
                    : tr("this test set cannot tell their accuracies apart (which does not make them equal)."));
}

int FlippedImagesModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(m_rows.size()); }
int FlippedImagesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant FlippedImagesModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const FlippedImage& f = m_rows[static_cast<std::size_t>(index.row())];
  const QString right = f.aRight ? QStringLiteral("A") : (f.bRight ? QStringLiteral("B") : tr("neither"));
  if (role == RightRole) return f.aRight ? QStringLiteral("A") : (f.bRight ? QStringLiteral("B") : QStringLiteral("neither"));
  if (role == Qt::ToolTipRole) return f.path;
  if (role == Qt::DecorationRole && index.column() == ImageColumn) {
    const auto it = m_thumbnails.constFind(f.path);
    return it == m_thumbnails.constEnd() ? QVariant() : QVariant(*it);
  }
  if (role == Qt::ForegroundRole && (index.column() == AColumn || index.column() == BColumn)) {
    const bool ok = index.column() == AColumn ? f.aRight : f.bRight;
    return QBrush(ok ? QColor(0x27, 0xae, 0x60) : QColor(0xc0, 0x39, 0x2b));
  }
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case ImageColumn: return QStringLiteral("%1  %2").arg(f.index).arg(QFileInfo(f.path).fileName());
    case TrueColumn: return f.truth;
    case AColumn: return f.a;
    case BColumn: return f.b;
    case RightColumn: return right;
    default: return {};
  }
}

QVariant FlippedImagesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ForegroundRole && (section == AColumn || section == BColumn)) return slotColour(section - AColumn);
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case ImageColumn: return tr("Image");
    case TrueColumn: return tr("True class");
    case AColumn: return tr("A predicts");
    case BColumn: return tr("B predicts");
    case RightColumn: return tr("Right");
    default: return {};
  }
}

// ---- EvalSummaryModel ----

EvalSummaryModel::EvalSummaryModel(QObject* parent) : QAbstractTableModel(parent) {}

void EvalSummaryModel::setResults(std::optional<EvalSlotResult> a, std::optional<EvalSlotResult> b) {
  beginResetModel();
  m_r[0] = std::move(a);
  m_r[1] = std::move(b);
  endResetModel();
}

void EvalSummaryModel::clear() { setResults(std::nullopt, std::nullopt); }

int EvalSummaryModel::rowCount(const QModelIndex& parent) const { return parent.isValid() || !hasResults() ? 0 : RowCount; }
int EvalSummaryModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : 3; }

QVariant EvalSummaryModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const int row = index.row();
  if (index.column() == 0) {
    if (role != Qt::DisplayRole) return {};
    static const char* const kNames[] = {"Model", "Variant", "Images evaluated", "Top-1", "Top-5",
                                         "Throughput", "Wall time", "Skipped files"};
    return tr(kNames[row]);
  }
  const auto& r = m_r[index.column() - 1];
  if (!r) return role == Qt::DisplayRole ? QVariant(QStringLiteral("–")) : QVariant();
  const auto& e = r->result;
  if (role == Qt::TextAlignmentRole) return row <= VariantRow ? int(Qt::AlignLeft | Qt::AlignVCenter) : int(Qt::AlignRight | Qt::AlignVCenter);
  if (role == ValueRole) {
    switch (row) {
      case EvaluatedRow: return static_cast<double>(e.evaluated);
      case Top1Row: return e.top1();
      case Top5Row: return e.top5();
      case ThroughputRow: return e.images_per_s;
      case TimeRow: return e.seconds;
      case SkippedRow: return static_cast<double>(e.skipped.size());
      default: return {};
    }
  }
  if (role == Qt::ToolTipRole && row == SkippedRow && !e.skipped.empty())
    return tr("%n file(s) could not be decoded; the list is below", nullptr, static_cast<int>(e.skipped.size()));
  if (role == Qt::ForegroundRole && row == SkippedRow && !e.skipped.empty()) return QBrush(QColor(0xc0, 0x39, 0x2b));
  if (role != Qt::DisplayRole) return {};
  switch (row) {
    case ModelRow: return r->model;
    case VariantRow: return r->variant;
    case EvaluatedRow: return e.cancelled ? tr("%1 (cancelled)").arg(e.evaluated) : QString::number(e.evaluated);
    case Top1Row: return e.evaluated ? percent(e.top1()) : QStringLiteral("–");
    case Top5Row: return e.evaluated ? percent(e.top5()) : QStringLiteral("–");
    case ThroughputRow: return tr("%1 images/s").arg(e.images_per_s, 0, 'f', 1);
    case TimeRow: return tr("%1 s").arg(e.seconds, 0, 'f', 2);
    case SkippedRow: return QString::number(e.skipped.size());
    default: return {};
  }
}

QVariant EvalSummaryModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ForegroundRole && section > 0) return slotColour(section - 1);
  if (role != Qt::DisplayRole) return {};
  return section == 0 ? tr("Metric") : slotName(section - 1);
}

// ---- PerClassAccuracyModel ----

PerClassAccuracyModel::PerClassAccuracyModel(QObject* parent) : QAbstractTableModel(parent) {}

void PerClassAccuracyModel::setResults(const std::optional<EvalSlotResult>& a, const std::optional<EvalSlotResult>& b) {
  beginResetModel();
  m_rows.clear();
  const std::optional<EvalSlotResult>* rs[2] = {&a, &b};
  std::size_t n = 0;
  for (auto* r : rs)
    if (*r) n = std::max(n, (*r)->result.per_class_total.size());
  for (std::size_t c = 0; c < n; ++c) {
    Row row;
    for (int s = 0; s < 2; ++s) {
      const auto& r = *rs[s];
      if (!r || c >= r->result.per_class_total.size()) continue;
      const long total = r->result.per_class_total[c];
      if (total <= 0) continue;
      row.total = std::max(row.total, total);
      row.acc[s] = static_cast<double>(r->result.per_class_correct[c]) / static_cast<double>(total);
      if (row.name.isEmpty())
        row.name = c < r->classNames.size() ? QString::fromStdString(r->classNames[c]) : QString::number(c);
    }
    if (row.total > 0) m_rows.push_back(std::move(row));
  }
  endResetModel();
}

void PerClassAccuracyModel::clear() {
  beginResetModel();
  m_rows.clear();
  endResetModel();
}

int PerClassAccuracyModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(m_rows.size()); }
int PerClassAccuracyModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant PerClassAccuracyModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto& r = m_rows[static_cast<std::size_t>(index.row())];
  const int col = index.column();
  if (role == Qt::TextAlignmentRole) return col == ClassColumn ? int(Qt::AlignLeft | Qt::AlignVCenter) : int(Qt::AlignRight | Qt::AlignVCenter);
  std::optional<double> v;
  if (col == AccuracyAColumn) v = r.acc[0];
  if (col == AccuracyBColumn) v = r.acc[1];
  if (col == DeltaColumn && r.acc[0] && r.acc[1]) v = *r.acc[1] - *r.acc[0];
  if (role == ValueRole) {
    if (col == ImagesColumn) return static_cast<double>(r.total);
    return v ? QVariant(*v) : QVariant();
  }
  if (role == Qt::ForegroundRole && col == DeltaColumn && v && *v != 0)
    return QBrush(*v < 0 ? QColor(0xc0, 0x39, 0x2b) : QColor(0x27, 0xae, 0x60));
  if (role != Qt::DisplayRole) return {};
  switch (col) {
    case ClassColumn: return r.name;
    case ImagesColumn: return QString::number(r.total);
    case DeltaColumn:
      return v ? (*v > 0 ? QStringLiteral("+") : QString()) + QString::number(100.0 * *v, 'f', 1) + QStringLiteral(" pt")
               : QStringLiteral("–");
    default: return v ? percent(*v) : QStringLiteral("–");
  }
}

QVariant PerClassAccuracyModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ForegroundRole && (section == AccuracyAColumn || section == AccuracyBColumn))
    return slotColour(section == AccuracyAColumn ? 0 : 1);
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case ClassColumn: return tr("Class");
    case ImagesColumn: return tr("Images");
    case AccuracyAColumn: return tr("A top-1");
    case AccuracyBColumn: return tr("B top-1");
    case DeltaColumn: return tr("B − A");
    default: return {};
  }
}

// ---- SkippedFilesModel ----

SkippedFilesModel::SkippedFilesModel(QObject* parent) : QAbstractTableModel(parent) {}

void SkippedFilesModel::setResults(const std::optional<EvalSlotResult>& a, const std::optional<EvalSlotResult>& b) {
  beginResetModel();
  m_rows.clear();
  const std::optional<EvalSlotResult>* rs[2] = {&a, &b};
  for (int s = 0; s < 2; ++s)
    if (*rs[s])
      for (const auto& k : (*rs[s])->result.skipped)
        m_rows.push_back({s, QString::fromStdString(k.path.string()), QString::fromStdString(k.reason)});
  endResetModel();
}

void SkippedFilesModel::clear() {
  beginResetModel();
  m_rows.clear();
  endResetModel();
}

int SkippedFilesModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(m_rows.size()); }
int SkippedFilesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant SkippedFilesModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto& r = m_rows[static_cast<std::size_t>(index.row())];
  if (role == Qt::ToolTipRole) return r.path + QStringLiteral("\n") + r.reason;
  if (role == Qt::ForegroundRole && index.column() == SlotColumn) return QBrush(slotColour(r.slot));
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case SlotColumn: return slotName(r.slot);
    case FileColumn: return QFileInfo(r.path).fileName();
    case ReasonColumn: return r.reason;
    default: return {};
  }
}

QVariant SkippedFilesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case SlotColumn: return tr("Model");
    case FileColumn: return tr("File");
    case ReasonColumn: return tr("Reason");
    default: return {};
  }
}

// ---- ConfusionMatrixModel ----

ConfusionMatrixModel::ConfusionMatrixModel(QObject* parent) : QAbstractTableModel(parent) {}

void ConfusionMatrixModel::setMatrix(std::vector<std::vector<long>> matrix, std::vector<std::string> classNames) {
  beginResetModel();
  // A ragged matrix would index out of bounds below: square it up to the number of rows.
  const std::size_t n = matrix.size();
  for (auto& row : matrix) row.resize(n, 0);
  m_matrix = std::move(matrix);
  m_names = std::move(classNames);
  m_rowTotals.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (long v : m_matrix[i]) m_rowTotals[i] += v;
  endResetModel();
}

void ConfusionMatrixModel::clear() { setMatrix({}, {}); }

int ConfusionMatrixModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : classCount(); }
int ConfusionMatrixModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : classCount(); }

QVariant ConfusionMatrixModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto r = static_cast<std::size_t>(index.row());
  const auto c = static_cast<std::size_t>(index.column());
  const long v = m_matrix[r][c];
  const double share = m_rowTotals[r] ? static_cast<double>(v) / static_cast<double>(m_rowTotals[r]) : 0.0;
  auto name = [&](std::size_t i) { return i < m_names.size() ? QString::fromStdString(m_names[i]) : QString::number(i); };
  switch (role) {
    case Qt::DisplayRole: return v ? QString::number(v) : QString();
    case CountRole: return static_cast<qlonglong>(v);
    case HeatRole: return share;
    case Qt::TextAlignmentRole: return int(Qt::AlignCenter);
    case Qt::ToolTipRole:
      return tr("true %1, predicted %2: %3 image(s), %4 % of %1").arg(name(r), name(c)).arg(v).arg(100.0 * share, 0, 'f', 1);
    default: return {};
  }
}

QVariant ConfusionMatrixModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (section < 0 || section >= classCount()) return {};
  const auto s = static_cast<std::size_t>(section);
  const QString name = s < m_names.size() ? QString::fromStdString(m_names[s]) : QString::number(section);
  if (role == Qt::ToolTipRole) return (orientation == Qt::Vertical ? tr("true: ") : tr("predicted: ")) + name;
  if (role != Qt::DisplayRole) return {};
  // Column headers stay narrow: the full name is in the tooltip.
  return orientation == Qt::Horizontal && name.size() > 6 ? name.left(5) + QStringLiteral("…") : name;
}

}  // namespace swinscope::gui
