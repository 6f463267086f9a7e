#include "gui/app/slot_panel.h"

#include <QComboBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMimeData>
#include <QStandardItemModel>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

namespace {

QString joinInts(const std::vector<int>& v) {
  QStringList s;
  for (int x : v) s << QString::number(x);
  return s.join(QLatin1Char('-'));
}

QLabel* valueLabel(QWidget* parent) {
  auto* l = new QLabel(parent);
  l->setTextInteractionFlags(Qt::TextSelectableByMouse);
  l->setWordWrap(true);
  return l;
}

bool isModelFile(const QString& path) { return path.endsWith(QLatin1String(".safetensors"), Qt::CaseInsensitive); }

}  // namespace

QString SlotPanel::architectureText(const Model& m) {
  const auto& c = m.config;
  return QStringLiteral("%1 · %2 px, patch %3, window %4 · embed %5 · depths %6 · heads %7 · %8 classes")
      .arg(QString::fromStdString(c.name))
      .arg(c.img_size)
      .arg(c.patch_size)
      .arg(c.window_size)
      .arg(c.embed_dim)
      .arg(joinInts(c.depths), joinInts(c.num_heads))
      .arg(c.num_classes);
}

QString SlotPanel::calibrationText(const Model& m) {
  if (m.calibration.empty()) return m.is_int8() ? QObject::tr("(no record)") : QObject::tr("— (float model)");
  try {
    const auto j = nlohmann::json::parse(m.calibration);
    QStringList parts;
    if (j.contains("method")) {
      QString method = QString::fromStdString(j["method"].get<std::string>());
      if (j.contains("percentile") && j["percentile"].is_number()) method += QStringLiteral(" %1").arg(j["percentile"].get<double>());
      parts << method;
    }
    if (j.contains("images") && j["images"].is_number()) parts << QObject::tr("%1 images").arg(j["images"].get<long>());
    if (j.contains("data") && j["data"].is_string() && !j["data"].get<std::string>().empty())
      parts << QString::fromStdString(j["data"].get<std::string>());
    if (j.contains("weights") && j["weights"].is_string()) parts << QObject::tr("weights %1").arg(QString::fromStdString(j["weights"].get<std::string>()));
    return parts.join(QStringLiteral(", "));
  } catch (const std::exception&) {
    return QString::fromStdString(m.calibration);
  }
}

SlotPanel::SlotPanel(int slot, QWidget* parent) : DropArea(parent), m_slot(slot) {
  setAcceptor([](const QMimeData* mime) {
    for (const auto& u : mime->urls())
      if (u.isLocalFile()) return true;
    return false;
  });
  connect(this, &DropArea::filesDropped, this, [this](const QStringList& files) {
    for (const auto& f : files)
      if (isModelFile(f)) {
        emit sourceChosen(m_slot, f);
        return;
      }
    emit problem(tr("%1: only .safetensors model files can be dropped on a model slot (got %2)")
                     .arg(slotName(m_slot), QFileInfo(files.front()).fileName()));
  });
  connect(this, &DropArea::rejected, this, &SlotPanel::problem);

  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(8, 6, 8, 6);
  auto* head = new QHBoxLayout;
  m_badge = new QLabel(slotName(slot), this);
  QFont bf = m_badge->font();
  bf.setBold(true);
  bf.setPointSizeF(bf.pointSizeF() * 1.6);
  m_badge->setFont(bf);
  m_badge->setAlignment(Qt::AlignCenter);
  m_badge->setFixedWidth(QFontMetrics(bf).horizontalAdvance(QStringLiteral("MM")));
  m_badge->setStyleSheet(QStringLiteral("QLabel { color: white; background-color: %1; border-radius: 4px; }").arg(slotColour(slot).name()));
  m_title = new QLabel(this);
  QFont tf = m_title->font();
  tf.setBold(true);
  m_title->setFont(tf);
  m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_title->setMinimumWidth(60);  // a long file name is clipped (whole in the tooltip), never widens the window
  m_busy = new QLabel(this);
  m_busy->setStyleSheet(QStringLiteral("color: palette(mid);"));
  m_busy->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // "Loading <long name>…" is clipped, not a reason to widen

  auto* open = new QToolButton(this);
  open->setText(tr("Open…"));
  open->setToolTip(tr("Open a .safetensors model into %1 (the arrow lists recent models)").arg(slotName(slot)));
  open->setPopupMode(QToolButton::MenuButtonPopup);
  m_recentMenu = new QMenu(tr("Recent models into %1").arg(slotName(slot)), this);
  open->setMenu(m_recentMenu);
  connect(open, &QToolButton::clicked, this, [this] { emit openRequested(m_slot); });

  auto* random = new QToolButton(this);
  random->setText(tr("Random SWIN"));
  random->setToolTip(tr("Random weights of a real SWIN size, for latency work"));
  random->setPopupMode(QToolButton::InstantPopup);
  m_randomMenu = new QMenu(tr("Random SWIN into %1").arg(slotName(slot)), this);
  for (const auto& preset : SwinConfig::preset_names()) {
    QMenu* sub = m_randomMenu->addMenu(QString::fromStdString(preset));
    for (bool int8 : {true, false})
      for (auto act : {Activation::GELU, Activation::ReLU}) {
        RandomSpec spec;
        spec.preset = preset;
        spec.activation = act;
        spec.int8 = int8;
        QAction* a = sub->addAction(QStringLiteral("%1 · %2").arg(act == Activation::GELU ? tr("GELU") : tr("ReLU (GELU-less)"),
                                                                  int8 ? QStringLiteral("int8") : QStringLiteral("fp32")));
        connect(a, &QAction::triggered, this, [this, spec] { emit randomChosen(m_slot, spec); });
      }
  }
  random->setMenu(m_randomMenu);

  m_unload = new QToolButton(this);
  m_unload->setText(tr("Clear"));
  m_unload->setToolTip(tr("Empty slot %1").arg(slotName(slot)));
  connect(m_unload, &QToolButton::clicked, this, [this] { emit unloadRequested(m_slot); });

  // Compact (issue 15, layout): two lines — name, a one-line summary and the buttons; backend,
  // variant and device — with the facts one click away (Details), so the results get the height.
  m_summary = valueLabel(this);
  m_summary->setWordWrap(false);
  m_summary->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  m_summary->setStyleSheet(QStringLiteral("color: palette(placeholder-text);"));
  head->addWidget(m_badge);
  head->addWidget(m_title);
  head->addWidget(m_summary, 1);
  head->addWidget(m_busy);
  head->addWidget(open);
  head->addWidget(random);
  head->addWidget(m_unload);
  outer->addLayout(head);

  m_hint = new QLabel(tr("Empty. Open a model or create a random SWIN — or drop a .safetensors file here."), this);
  m_hint->setWordWrap(true);
  m_hint->setAlignment(Qt::AlignCenter);
  m_hint->setStyleSheet(QStringLiteral("color: palette(placeholder-text);"));
  outer->addWidget(m_hint);

  // Two columns of facts: the panels sit above every tab, so they stay short.
  m_details = new QWidget(this);
  auto* grid = new QGridLayout(m_details);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->setHorizontalSpacing(10);
  grid->setVerticalSpacing(2);
  m_arch = valueLabel(m_details);
  m_precision = valueLabel(m_details);
  m_calibration = valueLabel(m_details);
  m_params = valueLabel(m_details);
  m_file = valueLabel(m_details);
  // One line each: a wrapped fact would need a second line the squeezed panel may not give it
  // (rows then overlapped); long text is clipped instead and shown whole in the tooltip.
  for (auto* l : {m_arch, m_precision, m_calibration, m_params, m_file}) {
    l->setWordWrap(false);
    l->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  }
  auto key = [this](const QString& text) {
    auto* l = new QLabel(text, m_details);
    l->setStyleSheet(QStringLiteral("color: palette(placeholder-text);"));
    return l;
  };
  grid->addWidget(key(tr("Architecture")), 0, 0);
  grid->addWidget(m_arch, 0, 1, 1, 3);
  grid->addWidget(key(tr("Precision")), 1, 0);
  grid->addWidget(m_precision, 1, 1);
  grid->addWidget(key(tr("Calibration")), 1, 2);
  grid->addWidget(m_calibration, 1, 3);
  grid->addWidget(key(tr("Parameters")), 2, 0);
  grid->addWidget(m_params, 2, 1);
  grid->addWidget(key(tr("File")), 2, 2);
  grid->addWidget(m_file, 2, 3);
  grid->setColumnStretch(1, 1);
  grid->setColumnStretch(3, 1);
  outer->addWidget(m_details);

  auto* run = new QHBoxLayout;
  m_backend = new QComboBox(this);
  m_backend->addItem(tr("auto"), QStringLiteral("auto"));
  m_backend->addItem(tr("CPU"), QStringLiteral("cpu"));
  m_backend->addItem(tr("CUDA"), QStringLiteral("cuda"));
  m_backend->setToolTip(tr("Where %1 runs: auto takes CUDA when a device is usable").arg(slotName(slot)));
  m_variant = new QComboBox(this);
  for (auto v : {Variant::FP32, Variant::FP16, Variant::Int8Gelu, Variant::Int8Relu, Variant::Int8GeluFused, Variant::Int8Ivit})
    m_variant->addItem(QString::fromUtf8(variant_name(v).data(), static_cast<int>(variant_name(v).size())), static_cast<int>(v));
  m_variant->setToolTip(tr("How the model runs: int8-gelu is the FasterTransformer baseline, int8-relu the GELU-less model, "
                           "int8-ivit integer-only after I-ViT (CPU)"));
  run->addWidget(new QLabel(tr("Backend"), this));
  run->addWidget(m_backend);
  run->addSpacing(8);
  run->addWidget(new QLabel(tr("Variant"), this));
  run->addWidget(m_variant);
  m_device = valueLabel(this);
  m_device->setWordWrap(false);
  m_device->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  run->addWidget(m_device, 1);
  m_detailsButton = new QToolButton(this);
  m_detailsButton->setObjectName(QStringLiteral("slotDetailsButton"));
  m_detailsButton->setText(tr("Details"));
  m_detailsButton->setCheckable(true);
  m_detailsButton->setArrowType(Qt::DownArrow);
  m_detailsButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  m_detailsButton->setToolTip(tr("Architecture, precision, calibration, parameters, file, and why CUDA is not used"));
  run->addWidget(m_detailsButton);
  outer->insertLayout(outer->indexOf(m_details), run);
  m_notice = valueLabel(this);
  m_notice->setStyleSheet(QStringLiteral("color: #b35900;"));
  outer->addWidget(m_notice);
  m_planError = valueLabel(this);
  m_planError->setStyleSheet(QStringLiteral("color: #c0392b;"));
  outer->addWidget(m_planError);
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
  connect(m_detailsButton, &QToolButton::toggled, this, [this](bool on) {
    m_detailsButton->setArrowType(on ? Qt::UpArrow : Qt::DownArrow);
    updateDetailsVisibility();
    emit detailsToggled(on);
  });

  connect(m_backend, &QComboBox::currentIndexChanged, this, [this] { emitReconfigure(); });
  connect(m_variant, &QComboBox::currentIndexChanged, this, [this] { emitReconfigure(); });
  setState(AppContext::Slot{}, BackendChoice{});
}

bool SlotPanel::detailsShown() const { return m_detailsButton->isChecked(); }

void SlotPanel::setDetailsShown(bool shown) { m_detailsButton->setChecked(shown); }

void SlotPanel::updateDetailsVisibility() {
  const bool open = m_detailsButton->isChecked();
  m_details->setVisible(m_hasModel && open);
  m_notice->setVisible(open && !m_notice->text().isEmpty());
}

void SlotPanel::emitReconfigure() {
  if (m_updating) return;
  emit reconfigureRequested(m_slot, m_backend->currentData().toString(), static_cast<Variant>(m_variant->currentData().toInt()));
}

void SlotPanel::setRecentFiles(const QStringList& files) {
  m_recentMenu->clear();
  for (const auto& f : files) {
    QAction* a = m_recentMenu->addAction(QFileInfo(f).fileName());
    a->setToolTip(f);
    a->setStatusTip(f);
    connect(a, &QAction::triggered, this, [this, f] { emit sourceChosen(m_slot, f); });
  }
  if (files.isEmpty()) m_recentMenu->addAction(tr("(none yet)"))->setEnabled(false);
}

void SlotPanel::setState(const AppContext::Slot& s, const BackendChoice& detected) {
  m_updating = true;
  const bool has = s.model != nullptr;
  m_title->setText(has ? s.label : tr("Model %1").arg(slotName(m_slot)));
  m_title->setToolTip(s.source);
  m_busy->setText(s.loadJob ? s.loadingWhat + QStringLiteral("…") : QString());
  m_hint->setVisible(!has);
  if (!has && s.loadJob) m_hint->setText(s.loadingWhat + QStringLiteral("…"));
  else if (!has) m_hint->setText(tr("Empty. Open a model or create a random SWIN — or drop a .safetensors file here."));
  m_hasModel = has;
  m_unload->setEnabled(has);
  if (has) {
    const Model& m = *s.model;
    m_arch->setText(architectureText(m));
    m_precision->setText(tr("%1 · activation %2").arg(QString::fromStdString(m.precision), QString::fromStdString(m.activation_summary())));
    m_calibration->setText(calibrationText(m));
    m_params->setText(tr("%1 (%2)").arg(formatCount(m.config.parameter_count())).arg(m.config.parameter_count()));
    if (m.file_size > 0)
      m_file->setText(tr("%1 · %2 layout").arg(formatBytes(m.file_size), QString::fromUtf8(layout_name(m.layout).data(), static_cast<int>(layout_name(m.layout).size()))));
    else
      m_file->setText(tr("in memory (random weights)"));
    for (auto* l : {m_arch, m_precision, m_calibration, m_params}) l->setToolTip(l->text());
    QStringList tips{m_file->text()};
    for (const auto& i : m.inferred) tips << tr("inferred: %1").arg(QString::fromStdString(i));
    if (!m.ignored.empty()) tips << tr("%n tensor(s) in the file not used", nullptr, static_cast<int>(m.ignored.size()));
    m_file->setToolTip(tips.join(QLatin1Char('\n')));
    m_summary->setText(QStringLiteral("%1 · %2 · %3 params")
                           .arg(QString::fromStdString(m.precision), QString::fromStdString(m.activation_summary()),
                                formatCount(m.config.parameter_count())));
    m_summary->setToolTip(architectureText(m));
  } else {
    m_summary->clear();
    m_summary->setToolTip({});
  }
  const BackendChoice& b = has && !s.backend.device.empty() ? s.backend : detected;
  // CUDA without a usable device: the entry is disabled and says why (once detection is done).
  if (auto* bm = qobject_cast<QStandardItemModel*>(m_backend->model()); bm && !detected.device.empty()) {
    const int ci = m_backend->findData(QStringLiteral("cuda"));
    const bool usable = detected.backend == Backend::CUDA;
    if (ci >= 0) {
      bm->item(ci)->setEnabled(usable);
      bm->item(ci)->setToolTip(usable ? QString::fromStdString(detected.device) : QString::fromStdString(detected.notice));
    }
  }
  const int bi = m_backend->findData(s.backendRequest);
  m_backend->setCurrentIndex(bi >= 0 ? bi : 0);
  m_device->setText(b.device.empty() ? QString() : QString::fromStdString(b.device));
  m_notice->setText(QString::fromStdString(b.notice));
  // Collapsed, the notice is one mark on the device line, its text in the tooltip.
  m_device->setToolTip(QString::fromStdString(b.notice.empty() ? b.device : b.device + "\n" + b.notice));
  if (!b.notice.empty() && !b.device.empty()) m_device->setText(m_device->text() + tr("  ⚠ CUDA not used"));
  // Variants the loaded file can run as; make_plan has the last word and says why not.
  auto* vm = qobject_cast<QStandardItemModel*>(m_variant->model());
  for (int i = 0; i < m_variant->count(); ++i) {
    const auto v = static_cast<Variant>(m_variant->itemData(i).toInt());
    bool ok = has;
    if (has) {
      if (v == Variant::FP32) ok = !s.model->is_int8();
      if (v == Variant::FP16) ok = !s.model->is_int8() && b.backend == Backend::CUDA;
      if (v == Variant::Int8Gelu || v == Variant::Int8Relu) ok = s.model->is_int8();
      if (v == Variant::Int8GeluFused) ok = s.model->is_int8() && b.backend == Backend::CUDA;
      if (v == Variant::Int8Ivit) {  // integer-only: a file that holds its ranges (CPU and CUDA)
        ok = false;
        for (const auto& vs : variant_support(*s.model))
          if (vs.variant == v) {
            ok = vs.runs;
            if (vm) vm->item(i)->setToolTip(QString::fromStdString(vs.note));
          }
      }
    }
    if (vm) vm->item(i)->setEnabled(ok);
  }
  const int vi = m_variant->findData(static_cast<int>(s.variant));
  m_variant->setCurrentIndex(vi >= 0 ? vi : 0);
  m_variant->setEnabled(has && !s.loadJob);
  m_backend->setEnabled(!s.loadJob);
  m_planError->setText(s.planError.isEmpty() ? QString() : tr("Cannot run: %1").arg(s.planError));
  m_planError->setVisible(!s.planError.isEmpty());
  updateDetailsVisibility();
  m_updating = false;
}

}  // namespace swinscope::gui
