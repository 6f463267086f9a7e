#pragma once
// Per-stage int8 error (engine/quant_error.h) as a table: one row per block, one column per
// compared tensor (ln1 … fc2, the block output), then the SQNR of the noise the block adds.
// Cells are dB (higher is better, "inf" for identical tensors), coloured from red (low) to
// green (high); the worst block's row is bold.
#include <QAbstractTableModel>

#include <optional>

#include "engine/quant_error.h"

namespace swinscope::gui {

class NumericsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Role {
    DbRole = Qt::UserRole + 1,  // double: the cell's SQNR (±inf allowed); invalid on text columns
    WorstRole,                  // bool: the row is the worst block
  };
  static constexpr int kFixedColumns = 2;  // block, activation

  explicit NumericsModel(QObject* parent = nullptr);
  void setReport(SqnrReport report);
  void clear();
  const std::optional<SqnrReport>& report() const { return m_report; }
  int pointColumn(int point) const { return kFixedColumns + point; }  // column of sqnr_points()[point]
  int addedColumn() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  static QString formatDb(double db);
  // Red below 10 dB through yellow to green at 40 dB and above (int8's best is about 40–50).
  static QColor colorFor(double db);

 private:
  std::optional<SqnrReport> m_report;
  int m_worst = -1;
};

}  // namespace swinscope::gui
