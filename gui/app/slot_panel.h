#pragma once
// One model slot (A or B): what is loaded — name, architecture, precision, activation,
// calibration, parameters, file size — where it runs (backend, device, and why CUDA is
// not used when it is not), and the variant. Takes a dropped .safetensors file.
#include <optional>

#include "engine/plan.h"
#include "gui/app/app_context.h"
#include "gui/widgets/drop_area.h"

class QComboBox;
class QLabel;
class QMenu;
class QToolButton;

namespace swinscope::gui {

class SlotPanel : public DropArea {
  Q_OBJECT
 public:
  SlotPanel(int slot, QWidget* parent = nullptr);

  void setState(const AppContext::Slot& state, const BackendChoice& detected);
  void setRecentFiles(const QStringList& files);
  int slot() const { return m_slot; }
  QMenu* randomMenu() const { return m_randomMenu; }
  QMenu* recentMenu() const { return m_recentMenu; }
  // The facts (architecture, calibration, file, the CUDA notice) below the two compact lines.
  bool detailsShown() const;
  void setDetailsShown(bool shown);

  // Human-readable summaries used here and in the window's exports.
  static QString architectureText(const Model& m);
  static QString calibrationText(const Model& m);

 signals:
  void openRequested(int slot);
  void sourceChosen(int slot, const QString& source);
  void randomChosen(int slot, const swinscope::gui::RandomSpec& spec);
  void unloadRequested(int slot);
  void reconfigureRequested(int slot, const QString& backendRequest, std::optional<swinscope::Variant> variant);
  void problem(const QString& text);
  void detailsToggled(bool shown);

 private:
  void emitReconfigure();
  void updateDetailsVisibility();

  int m_slot = 0;
  bool m_updating = false;
  QLabel* m_badge = nullptr;
  QLabel* m_title = nullptr;
  QLabel* m_busy = nullptr;
  QLabel* m_hint = nullptr;
  QLabel* m_summary = nullptr;  // "int8 · gelu · 136.9 k params" on the first line
  QToolButton* m_detailsButton = nullptr;
  bool m_hasModel = false;
  QWidget* m_details = nullptr;
  QLabel* m_arch = nullptr;
  QLabel* m_precision = nullptr;
  QLabel* m_calibration = nullptr;
  QLabel* m_params = nullptr;
  QLabel* m_file = nullptr;
  QLabel* m_device = nullptr;
  QLabel* m_notice = nullptr;
  QLabel* m_planError = nullptr;
  QComboBox* m_backend = nullptr;
  QComboBox* m_variant = nullptr;
  QToolButton* m_unload = nullptr;
  QMenu* m_recentMenu = nullptr;
  QMenu* m_randomMenu = nullptr;
};

}  // namespace swinscope::gui
