#pragma once
// The top-k of models A and B for one image, side by side: row r holds rank r+1 of each.
// A mark shows where the two agree: the same class at the same rank, or (weaker) A's class
// somewhere else in B's top-k.
#include <QAbstractTableModel>
#include <optional>
#include <vector>

#include "engine/evaluate.h"

namespace swinscope::gui {

class PredictionModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { RankColumn, ClassAColumn, ProbabilityAColumn, AgreeColumn, ClassBColumn, ProbabilityBColumn, ColumnCount };
  enum Role {
    ProbabilityRole = Qt::UserRole + 1,  // float in [0, 1] on the probability columns
    SlotRole,                            // 0 (A) or 1 (B) on the class and probability columns
    AgreementRole,                       // on AgreeColumn: Agreement
  };
  enum class Agreement { None, SameRank, OtherRank };

  explicit PredictionModel(QObject* parent = nullptr);

  // Either side may be absent (no model in the slot, or the image failed for it).
  void setPredictions(std::optional<std::vector<TopK>> a, std::optional<std::vector<TopK>> b);
  void clear();
  void setSlotTitles(const QString& a, const QString& b);

  Agreement agreementAt(int row) const;
  // Both present and top-1 the same class.
  bool top1Agrees() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  const TopK* at(int slot, int row) const;

  std::optional<std::vector<TopK>> m_top[2];
  QString m_titles[2] = {QStringLiteral("A"), QStringLiteral("B")};
};

}  // namespace swinscope::gui
