#pragma once
// Numerics: where int8 quantization loses precision (issue 15, per-stage int8 error). One
// slot's model against a reference — its FP32 source file, or the other slot's model — on a
// few images: the SQNR of every block × stage (engine/quant_error.h) as a table, and per block
// the residual stream's SQNR and that of the noise the block adds as a bar chart.
#include <QWidget>

#include "gui/app/app_context.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableView;

namespace swinscope::gui {

class NumericsModel;

class NumericsTab : public QWidget {
  Q_OBJECT
 public:
  explicit NumericsTab(AppContext* ctx, QWidget* parent = nullptr);

  NumericsModel* model() const { return m_model; }
  void setDataset(const QString& dir);
  QString dataset() const;
  // The slot measured (0 = A, 1 = B) and the reference file (empty: the other slot's model).
  void setTestSlot(int slot);
  void setReferenceFile(const QString& path);
  QString referenceFile() const;
  void setImages(int n);
  bool run();  // false when it cannot start (reported in the message bar)
  void cancel();
  bool isRunning() const { return m_job != 0; }
  // Bars drawn in the chart (0 without Qt Charts): for tests.
  int chartBars() const { return m_bars; }

 signals:
  void finished(bool ok);

 private:
  void onSlotChanged(int slot);
  void guessReference();
  void onFinished(quint64 job, const NumericsOutcome& outcome);
  void rebuildChart();
  void setRunning(bool running);

  AppContext* m_ctx = nullptr;
  NumericsModel* m_model = nullptr;
  QComboBox* m_slot = nullptr;
  QLineEdit* m_reference = nullptr;
  QLineEdit* m_data = nullptr;
  QSpinBox* m_images = nullptr;
  QPushButton* m_run = nullptr;
  QPushButton* m_cancel = nullptr;
  QLabel* m_status = nullptr;
  QTableView* m_table = nullptr;
  QWidget* m_chart = nullptr;
  int m_bars = 0;
  quint64 m_job = 0;
  bool m_referenceTouched = false;  // typed or browsed by the user: no more guessing
};

}  // namespace swinscope::gui
