#pragma once
// The Compare tab's variants table (issue 16): every variant each slot's file can run, profiled
// on the CPU backend, side by side — for the bundled models the four columns int8-gelu and
// int8-ivit of the GELU model, int8-relu and int8-ivit of the GELU-less one. One row per
// stage kind (median µs per forward, summed over the blocks: ShiftGELU sits in
// fc1_bias_gelu_quant, Shiftmax in softmax, I-LayerNorm in ln1_quant), the end-to-end forward
// with recording off first; each cell also carries its ratio to the first column. A variant a
// file cannot run (or not on the CPU) is a greyed column whose tooltip says why.
#include <QAbstractTableModel>
#include <QDateTime>
#include <QStringList>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace swinscope::gui {

struct VariantColumn {
  int slot = 0;
  QString model;    // the slot's label: the file name
  QString variant;  // int8-gelu, int8-ivit, ...
  bool runs = true;  // false: greyed, `note` says why
  QString note;      // where it runs / why not (engine's variant_support)
  quint64 generation = 0;  // of the slot when the column was planned: results of an older model are dropped
  struct Figures {  // measured; empty until profiled
    std::optional<double> forwardUs;                           // median forward, recording off
    std::optional<std::pair<double, double>> forwardSpreadUs;  // p10, p90
    std::map<std::string, double> stageUs;                     // kind → median µs per forward
    QString error;                                             // the profile of this column failed
  } figures;

  QString label() const;  // "A · fmnist_swin_gelu.int8.safetensors · int8-ivit"
};

class VariantsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Role { ValueRole = Qt::UserRole + 1, RatioRole, RunsRole };
  static constexpr int kForwardRow = 0;  // rows after it: the stage kinds

  explicit VariantsModel(QObject* parent = nullptr);
  // Columns planned for the loaded slots: measurements of a column that stays (same slot,
  // generation and variant) are kept, the others are dropped.
  void setColumns(std::vector<VariantColumn> columns);
  // The results of a profile, matched to the planned columns by slot, generation and variant.
  void setResults(const std::vector<VariantColumn>& measured, int batch, int runs, const QString& device);
  void clearResults();
  const std::vector<VariantColumn>& columns() const { return m_columns; }
  // The columns that run, in table order (those that cannot are greyed after them).
  std::vector<const VariantColumn*> runnableColumns() const;
  bool hasResults() const;
  QString stageName(int row) const;  // "forward (recording off)" for row 0
  QString provenance() const;         // "batch 1, 10 runs each, CPU: …, at 2026-…"
  // Plain numbers: one column per variant that runs (µs) and, from the second on, its ratio to
  // the first; greyed columns are left out.
  QString toCsv() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;

 private:
  void rebuildRows();
  std::optional<double> value(int row, const VariantColumn& c) const;
  std::optional<double> ratio(int row, int column) const;
  const VariantColumn* firstMeasured() const;

  std::vector<VariantColumn> m_columns;  // runnable first, then greyed
  std::vector<std::string> m_stages;     // rows 1..: the kinds of every measured column
  int m_batch = 0;
  int m_runs = 0;
  QString m_device;
  QDateTime m_when;
};

}  // namespace swinscope::gui
