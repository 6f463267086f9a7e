#include "gui/models/compare_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

QString csvField(QString s) {
  if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n')))
    return QLatin1Char('"') + s.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
  return s;
}

CompareModel::CompareModel(QObject* parent) : QAbstractTableModel(parent) {}

void CompareModel::setInputs(CompareInputs inputs) {
  beginResetModel();
  m_in = std::move(inputs);
  endResetModel();
}

std::optional<double> CompareModel::speedup() const {
  const auto& a = m_in.slot[0].latencyUs;
  const auto& b = m_in.slot[1].latencyUs;
  if (!a || !b || *b <= 0) return std::nullopt;
  return *a / *b;
}

QString speedupSentence(double speedupOfB, const std::optional<profiler::RatioInterval>& interval, const QString& labelA,
                        const QString& labelB) {
  if (!(speedupOfB > 0)) return {};
  const bool bFaster = speedupOfB >= 1;
  const double n = bFaster ? speedupOfB : 1.0 / speedupOfB;
  auto fmt = [](double x) { return QString::number(x, 'f', x < 10 ? 2 : 1); };
  QString t = QObject::tr("%1 is %2× faster").arg(bFaster ? labelB : labelA, fmt(n));
  if (interval && interval->resamples > 0 && interval->lo > 0) {
    const double lo = bFaster ? interval->lo : 1.0 / interval->hi;
    const double hi = bFaster ? interval->hi : 1.0 / interval->lo;
    t += QObject::tr(" (%1 % CI %2–%3×)").arg(qRound(100 * interval->level)).arg(fmt(lo), fmt(hi));
    if (interval->contains(1.0)) t += QObject::tr(": within noise");
  }
  return t;
}

QString CompareModel::speedupText() const {
  const auto v = speedup();
  return v ? speedupSentence(*v, m_in.speedupInterval) : QString();
}

int CompareModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : RowCount; }
int CompareModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString CompareModel::metricName(int row) const {
  switch (row) {
    case ModelRow: return tr("Model");
    case VariantRow: return tr("Variant");
    case ImagesRow: return tr("Images evaluated");
    case Top1Row: return tr("Top-1 accuracy (%)");
    case Top5Row: return tr("Top-5 accuracy (%)");
    case LatencyRow: return tr("Latency (median ms per forward, recording off)");
    case GeluOpRow: return tr("GELU fused op (median ms per forward)");
    case ThroughputRow: return tr("Throughput (images/s)");
    case SpeedupRow: return tr("Speed-up of B over A (×, medians)");
    case AgreementRow: return tr("Prediction agreement (%)");
    case McNemarRow: return tr("Accuracy differs? (McNemar exact p)");
    case AccuracySourceRow: return tr("Accuracy measured on");
    case LatencySourceRow: return tr("Latency measured");
    default: return {};
  }
}

std::optional<double> CompareModel::number(int row, int column) const {
  if (column == AColumn || column == BColumn) {
    const auto& s = m_in.slot[column - AColumn];
    switch (row) {
      case ImagesRow: return s.evaluated > 0 ? std::optional<double>(static_cast<double>(s.evaluated)) : std::nullopt;
      case Top1Row: return s.top1 ? std::optional<double>(100.0 * *s.top1) : std::nullopt;
      case Top5Row: return s.top5 ? std::optional<double>(100.0 * *s.top5) : std::nullopt;
      case LatencyRow: return s.latencyUs ? std::optional<double>(*s.latencyUs / 1000.0) : std::nullopt;
      case GeluOpRow:
        // Profiled without the op: it costs nothing there, which is the paper's point.
        if (s.geluOpUs) return *s.geluOpUs / 1000.0;
        return s.latencyUs ? std::optional<double>(0.0) : std::nullopt;
      case ThroughputRow:
        return s.latencyUs && *s.latencyUs > 0 ? std::optional<double>(s.batch * 1e6 / *s.latencyUs) : std::nullopt;
      case SpeedupRow: return column == AColumn && m_in.slot[0].latencyUs ? std::optional<double>(1.0) : (column == BColumn ? speedup() : std::nullopt);
      default: return std::nullopt;
    }
  }
  if (column == CompareColumn) {
    if (row == AgreementRow) return m_in.agreement && m_in.agreement->compared ? std::optional<double>(100.0 * m_in.agreement->rate()) : std::nullopt;
    if (row == McNemarRow) return m_in.mcnemar && m_in.mcnemar->total() ? std::optional<double>(profiler::mcnemar_exact_p(*m_in.mcnemar)) : std::nullopt;
    if (row == SpeedupRow) return speedup();
    if (row == Top1Row || row == Top5Row || row == LatencyRow || row == ThroughputRow || row == GeluOpRow) {
      const auto a = number(row, AColumn);
      const auto b = number(row, BColumn);
      if (a && b) return *b - *a;
    }
  }
  return std::nullopt;
}

QString CompareModel::text(int row, int column) const {
  if (column == MetricColumn) return metricName(row);
  if (column == AColumn || column == BColumn) {
    const auto& s = m_in.slot[column - AColumn];
    if (row == ModelRow) return s.model.isEmpty() ? QStringLiteral("–") : s.model;
    if (row == VariantRow) return s.variant.isEmpty() ? QStringLiteral("–") : s.variant;
  }
  const auto v = number(row, column);
  if (column == CompareColumn) {
    if (row == ModelRow) return m_in.dataset.isEmpty() ? QString() : tr("dataset: %1").arg(m_in.dataset);
    if (row == VariantRow) return m_in.device;
    if (row == AccuracySourceRow) {
      if (!m_in.evaluatedAt.isValid()) return tr("not evaluated");
      return tr("%1, at %2").arg(m_in.dataset, m_in.evaluatedAt.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")));
    }
    if (row == LatencySourceRow) {
      if (!m_in.profiledAt.isValid()) return tr("not profiled");
      return tr("random input, batch %1, %2 paired runs, at %3")
          .arg(m_in.slot[0].batch ? m_in.slot[0].batch : m_in.slot[1].batch)
          .arg(m_in.runs)
          .arg(m_in.profiledAt.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")));
    }
    if (!v) return QString();
    switch (row) {
      case Top1Row:
      case Top5Row: return tr("B − A: %1%2 pt").arg(*v > 0 ? QStringLiteral("+") : QString()).arg(*v, 0, 'f', 2);
      case LatencyRow: return tr("B − A: %1%2 ms").arg(*v > 0 ? QStringLiteral("+") : QString()).arg(*v, 0, 'f', 3);
      case GeluOpRow: {
        const auto a = number(LatencyRow, AColumn);
        if (*v < 0 && a && *a > 0) return tr("B saves %1 ms, %2 % of A's forward").arg(-*v, 0, 'f', 3).arg(-100.0 * *v / *a, 0, 'f', 1);
        return tr("B − A: %1%2 ms").arg(*v > 0 ? QStringLiteral("+") : QString()).arg(*v, 0, 'f', 3);
      }
      case ThroughputRow: return tr("B − A: %1%2").arg(*v > 0 ? QStringLiteral("+") : QString()).arg(*v, 0, 'f', 1);
      case SpeedupRow: return speedupText();
      case McNemarRow: {
        const auto& t = *m_in.mcnemar;
        return tr("p = %1 on %2 images (A only right: %3, B only right: %4)%5")
            .arg(*v, 0, 'g', 3)
            .arg(t.total())
            .arg(t.a_only)
            .arg(t.b_only)
            .arg(*v < 0.05 ? tr(": the accuracies differ") : tr(": cannot tell them apart"));
      }
      case AgreementRow:
        return tr("%1 % (%2 of %3 images)").arg(*v, 0, 'f', 2).arg(m_in.agreement->agreed).arg(m_in.agreement->compared);
      default: return QString();
    }
  }
  if (!v) return QStringLiteral("–");
  switch (row) {
    case ImagesRow: return QString::number(static_cast<long long>(*v));
    case Top1Row:
    case Top5Row: return QString::number(*v, 'f', 2);
    case LatencyRow: {
      const auto& s = m_in.slot[column - AColumn];
      if (!s.latencySpreadUs) return QString::number(*v, 'f', 3) + tr(" (batch %1)").arg(s.batch);
      return QString::number(*v, 'f', 3) + tr(" (batch %1, p10–p90 %2–%3)")
                                               .arg(s.batch)
                                               .arg(s.latencySpreadUs->first / 1000.0, 0, 'f', 3)
                                               .arg(s.latencySpreadUs->second / 1000.0, 0, 'f', 3);
    }
    case GeluOpRow: return m_in.slot[column - AColumn].geluOpUs ? QString::number(*v, 'f', 3) : tr("none");
    case ThroughputRow: return QString::number(*v, 'f', 1);
    case SpeedupRow: return QString::number(*v, 'f', 3);
    default: return QString::number(*v);
  }
}

QVariant CompareModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const int row = index.row(), col = index.column();
  switch (role) {
    case Qt::DisplayRole: return text(row, col);
    case ValueRole: {
      const auto v = number(row, col);
      return v ? QVariant(*v) : QVariant();
    }
    case Qt::TextAlignmentRole:
      return col == MetricColumn || row <= VariantRow || col == CompareColumn ? int(Qt::AlignLeft | Qt::AlignVCenter)
                                                                             : int(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::FontRole:
      if (row == SpeedupRow || row == Top1Row) {
        QFont f;
        f.setBold(true);
        return f;
      }
      return {};
    case Qt::ToolTipRole:
      if (row == LatencyRow) return tr("Median wall time of a forward pass on random input with recording off (Profile tab)");
      if (row == AgreementRow) return tr("Share of the evaluated images where A and B predict the same top-1 class");
      if (row == GeluOpRow) return tr("fc1_bias_gelu_quant (dequantize, bias, GELU, quantize after FC1), summed over the blocks: the op the GELU-less model removes");
      if (row == SpeedupRow)
        return tr("Median latency of A over median latency of B; the interval is a paired bootstrap over the profile's runs (A and B ran back to back)");
      if (row == McNemarRow)
        return tr("McNemar's exact test on the images exactly one model gets right: p < 0.05 says A and B differ in accuracy on this test set");
      if (row == Top1Row || row == Top5Row) return tr("From the Evaluate tab on %1").arg(m_in.dataset);
      return {};
    default: return {};
  }
}

QVariant CompareModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ForegroundRole && (section == AColumn || section == BColumn)) return slotColour(section - AColumn);
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case MetricColumn: return tr("Metric");
    case AColumn: return tr("A");
    case BColumn: return tr("B");
    case CompareColumn: return tr("A vs B");
    default: return {};
  }
}

QString CompareModel::toCsv() const {
  QString out = QStringLiteral("metric,A,B,comparison\n");
  for (int r = 0; r < RowCount; ++r) {
    QStringList f{csvField(metricName(r))};
    for (int c = AColumn; c <= CompareColumn; ++c) {
      if ((r == ModelRow || r == VariantRow) && c != CompareColumn) {
        f << csvField(text(r, c));
        continue;
      }
      if (r == ModelRow && c == CompareColumn) {
        f << csvField(m_in.dataset);
        continue;
      }
      if (r == VariantRow && c == CompareColumn) {
        f << csvField(m_in.device);
        continue;
      }
      if ((r == AccuracySourceRow || r == LatencySourceRow) && c == CompareColumn) {
        f << csvField(text(r, c));
        continue;
      }
      const auto v = number(r, c);
      f << (v ? QString::number(*v, 'g', 8) : QString());
    }
    out += f.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return out;
}

}  // namespace swinscope::gui
