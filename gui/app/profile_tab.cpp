#include "gui/app/profile_tab.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QLineEdit>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "gui/models/ab_diff_model.h"
#include "gui/models/stage_stats_model.h"
#include "gui/models/stage_style.h"
#include "gui/models/trace_span_model.h"
#include "gui/widgets/ab_diff_chart.h"
#include "gui/widgets/stage_chart.h"
#include "gui/widgets/timeline_view.h"
#include "profiler/export.h"
#include "profiler/stats.h"

#ifdef SWINSCOPE_HAVE_QTCHARTS
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSeries>
#include <QtCharts/QBarSet>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QValueAxis>
#endif

namespace swinscope::gui {

namespace {

// Messages of this tab's action: they stay until the next profile succeeds (issue 15 item 7).
const QString kAction = QStringLiteral("profile");

QSpinBox* spin(int lo, int hi, int value, const QString& tip, QWidget* parent) {
  auto* s = new QSpinBox(parent);
  s->setRange(lo, hi);
  s->setValue(value);
  s->setToolTip(tip);
  return s;
}

}  // namespace

ProfileTab::ProfileTab(AppContext* ctx, QWidget* parent) : QWidget(parent), m_ctx(ctx) {
  m_spans = new TraceSpanModel(this);
  m_stats = new StageStatsModel(this);
  auto* lay = new QVBoxLayout(this);

  auto* controls = new QHBoxLayout;
  m_batch = spin(1, 4096, 1, tr("Images per forward pass"), this);
  m_runs = spin(1, 10000, 10, tr("Recorded runs per model; each is paired with an unrecorded run for the end-to-end latency"), this);
  m_warmup = spin(0, 1000, 2, tr("Unrecorded runs before measuring"), this);
  m_run = new QPushButton(tr("Profile A and B"), this);
  m_run->setToolTip(tr("Run both models on random input, A and B alternating run by run (Ctrl+P)"));
  m_cancel = new QPushButton(tr("Cancel"), this);
  m_cancel->setEnabled(false);
  // Short labels (the File menu has the long ones): the row must fit a 1100-pixel window.
  auto* open = new QPushButton(tr("Open trace…"), this);
  open->setToolTip(tr("Open a trace JSON written by SwinScope or swinscope-cli profile --trace"));
  m_exportJson = new QPushButton(tr("JSON…"), this);
  m_exportJson->setToolTip(tr("Chrome trace-event JSON: opens in Perfetto and chrome://tracing, and back in SwinScope"));
  m_exportCsv = new QPushButton(tr("CSV…"), this);
  m_exportCsv->setToolTip(tr("Export every span of A and B as one CSV with a model column"));
  m_runChoice = new QComboBox(this);
  m_runChoice->setToolTip(tr("Which recorded run the timeline shows"));
  auto* fit = new QPushButton(tr("Fit"), this);
  fit->setToolTip(tr("Show the whole run (double-click or 0 on the timeline)"));
  controls->addWidget(new QLabel(tr("Batch"), this));
  controls->addWidget(m_batch);
  controls->addWidget(new QLabel(tr("Runs"), this));
  controls->addWidget(m_runs);
  controls->addWidget(new QLabel(tr("Warm-up"), this));
  controls->addWidget(m_warmup);
  controls->addWidget(m_run);
  controls->addWidget(m_cancel);
  controls->addSpacing(8);
  controls->addWidget(open);
  controls->addWidget(m_exportJson);
  controls->addWidget(m_exportCsv);
  controls->addStretch(1);
  controls->addWidget(new QLabel(tr("Timeline of"), this));
  controls->addWidget(m_runChoice);
  controls->addWidget(fit);
  lay->addLayout(controls);

  auto* progRow = new QHBoxLayout;
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_progress->setTextVisible(false);
  m_progress->setMaximumHeight(12);
  m_status = new QLabel(this);
  progRow->addWidget(m_progress, 1);
  progRow->addWidget(m_status, 1);
  lay->addLayout(progRow);

  m_summary = new QLabel(this);
  m_summary->setWordWrap(true);
  m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
  // A noisy profile offers to run again (a link in the summary).
  connect(m_summary, &QLabel::linkActivated, this, [this](const QString& link) {
    if (link == QLatin1String("rerun")) run();
  });
  lay->addWidget(m_summary);

  auto* split = new QSplitter(Qt::Vertical, this);
  split->setObjectName(QStringLiteral("profileSplitter"));
  auto* timelineBox = new QWidget(split);
  auto* tl = new QVBoxLayout(timelineBox);
  tl->setContentsMargins(0, 0, 0, 0);
  m_timeline = new TimelineView(timelineBox);
  m_timeline->setModel(m_spans);
  auto* scroll = new QScrollArea(timelineBox);
  scroll->setWidget(m_timeline);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setFrameShape(QFrame::StyledPanel);
  // Never squeezed below the ruler and three lanes by the table and chart under it.
  scroll->setMinimumHeight(28 + 2 * 20 + 12);
  // Search and range selection (issue 15): find spans by name; Shift+drag a time range for its
  // summary; a click on a span shows its stage's duration histogram.
  auto* findRow = new QHBoxLayout;
  m_find = new QLineEdit(timelineBox);
  m_find->setObjectName(QStringLiteral("timelineFind"));
  m_find->setPlaceholderText(tr("Find spans by name (e.g. softmax)"));
  m_find->setClearButtonEnabled(true);
  m_find->setMaximumWidth(260);
  m_findCount = new QLabel(timelineBox);
  m_selection = new QLabel(tr("Shift+drag: summary of a time range · click a span: its stage's durations"), timelineBox);
  m_selection->setObjectName(QStringLiteral("timelineSelection"));
  m_selection->setStyleSheet(QStringLiteral("color: palette(placeholder-text);"));
  m_selection->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  m_selection->setTextInteractionFlags(Qt::TextSelectableByMouse);
  findRow->addWidget(m_find);
  findRow->addWidget(m_findCount);
  findRow->addSpacing(12);
  findRow->addWidget(m_selection, 1);
  tl->addLayout(findRow);
  m_legend = new TimelineLegend(timelineBox);
  m_legend->setModel(m_spans);
  tl->addWidget(scroll, 1);
  tl->addWidget(m_legend);

  // Below the timeline: the stage table and chart, and the A/B diff.
  m_bottomTabs = new QTabWidget(split);
  m_bottomTabs->setDocumentMode(true);
  auto* bottom = new QSplitter(Qt::Horizontal, m_bottomTabs);
  bottom->setObjectName(QStringLiteral("profileBottomSplitter"));
  m_table = new QTableView(bottom);
  m_table->setModel(m_stats);
  m_table->setAlternatingRowColors(true);
  m_table->verticalHeader()->hide();
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_chart = new StageChart(bottom);
  m_chart->setModel(m_stats);
  bottom->addWidget(m_table);
  bottom->addWidget(m_chart);
  bottom->setStretchFactor(0, 3);
  bottom->setStretchFactor(1, 2);
  m_bottomTabs->addTab(bottom, tr("Stages"));

  // A/B diff (issue 15): per stage (or block × stage) the change of the median with its
  // bootstrap interval, shaded by significance; stages only one model has marked added/removed.
  auto* diffBox = new QWidget(m_bottomTabs);
  auto* dl = new QVBoxLayout(diffBox);
  dl->setContentsMargins(0, 4, 0, 0);
  m_diffPerBlock = new QCheckBox(tr("Per block (the chart shows the selected row's block)"), diffBox);
  dl->addWidget(m_diffPerBlock);
  auto* diffSplit = new QSplitter(Qt::Horizontal, diffBox);
  diffSplit->setObjectName(QStringLiteral("profileDiffSplitter"));
  m_diff = new AbDiffModel(this);
  m_diffTable = new QTableView(diffSplit);
  m_diffTable->setObjectName(QStringLiteral("abDiffTable"));
  m_diffTable->setModel(m_diff);
  m_diffTable->verticalHeader()->hide();
  m_diffTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_diffTable->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_diffTable->setSelectionMode(QAbstractItemView::SingleSelection);
  m_diffChart = new AbDiffChart(diffSplit);
  m_diffChart->setModel(m_diff);
  diffSplit->addWidget(m_diffTable);
  diffSplit->addWidget(m_diffChart);
  diffSplit->setStretchFactor(0, 3);
  diffSplit->setStretchFactor(1, 2);
  dl->addWidget(diffSplit, 1);
  m_bottomTabs->addTab(diffBox, tr("A/B diff"));
  connect(m_diffPerBlock, &QCheckBox::toggled, this, [this](bool on) {
    m_diff->setPerBlock(on);
    m_diffChart->setBlock(on ? 0 : -1);
  });
  connect(m_diffTable->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& cur) {
    if (m_diff->perBlock() && cur.isValid()) m_diffChart->setBlock(m_diff->rows()[static_cast<std::size_t>(cur.row())].block);
  });

  split->addWidget(timelineBox);
  split->addWidget(m_bottomTabs);
  connect(m_find, &QLineEdit::textChanged, this, [this](const QString& t) {
    m_timeline->setSearch(t);
    m_findCount->setText(t.trimmed().isEmpty() ? QString() : tr("%n match(es)", nullptr, m_timeline->matchCount()));
  });
  connect(m_timeline, &TimelineView::selectionChanged, this, [this] {
    if (!m_timeline->hasSelection()) {
      m_selection->setText(tr("Shift+drag: summary of a time range · click a span: its stage's durations"));
      m_selection->setToolTip({});
      return;
    }
    const auto sum = m_spans->summarizeRange(m_timeline->selectionStart(), m_timeline->selectionEnd());
    const QString text = sum.text();
    m_selection->setText(text.section(QLatin1Char('\n'), 0, 0) + QStringLiteral(" — ") + text.section(QLatin1Char('\n'), 1).replace(QLatin1Char('\n'), QStringLiteral(" | ")));
    m_selection->setToolTip(text);
  });
  connect(m_timeline, &TimelineView::spanClicked, this, &ProfileTab::showStageHistogram);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  lay->addWidget(split, 1);

  connect(m_run, &QPushButton::clicked, this, &ProfileTab::run);
  connect(m_cancel, &QPushButton::clicked, this, &ProfileTab::cancel);
  connect(open, &QPushButton::clicked, this, &ProfileTab::openTraceDialog);
  connect(m_exportJson, &QPushButton::clicked, this, &ProfileTab::exportJsonDialog);
  connect(m_exportCsv, &QPushButton::clicked, this, &ProfileTab::exportCsvDialog);
  connect(fit, &QPushButton::clicked, m_timeline, &TimelineView::fitAll);
  connect(m_runChoice, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (i >= 0) m_spans->setRun(m_runChoice->itemData(i).toInt());
  });
  connect(&m_ctx->results(), &JobResults::profileProgress, this, &ProfileTab::onProgress);
  connect(&m_ctx->results(), &JobResults::profileFinished, this, &ProfileTab::onFinished);
  connect(&m_ctx->runner(), &JobRunner::finished, this,
          [this](quint64 job, const QString&, bool cancelled, const QString& error) { onJobEnded(job, cancelled, error); });
  m_lastDir = QDir::homePath();
  m_summary->setText(tr("Profiles run on random input (timing needs no real images). "
                        "Hover a bar for its exact figures; wheel zooms, dragging pans."));
  updateRunChoices();
  m_exportJson->setEnabled(false);
  m_exportCsv->setEnabled(false);
}

void ProfileTab::setSettings(int batch, int runs, int warmup) {
  m_batch->setValue(batch);
  m_runs->setValue(runs);
  m_warmup->setValue(warmup);
}
int ProfileTab::batch() const { return m_batch->value(); }
int ProfileTab::runs() const { return m_runs->value(); }
int ProfileTab::warmup() const { return m_warmup->value(); }

bool ProfileTab::run() {
  if (m_job) return false;
  ProfileRequest req;
  req.batch = batch();
  req.runs = runs();
  req.warmup = warmup();
  req.models = m_ctx->runnableSlots();
  if (req.models.empty()) {
    m_ctx->report(MessageBar::Level::Warning, tr("No model can run: load a model into A or B first (a random SWIN will do for timing)"), kAction);
    emit failed();
    return false;
  }
  JobResults* results = &m_ctx->results();
  m_job = m_ctx->runner().submit(tr("Profiling (batch %1, %2 runs)").arg(req.batch).arg(req.runs), [req, results](const JobToken& token) {
    ProfileOutcome out = runProfile(req, token, [&](const ProfileProgressInfo& p) { emit results->profileProgress(token.id(), p); });
    if (!token.cancelled()) emit results->profileFinished(token.id(), out);
  });
  m_progress->setRange(0, 0);
  m_status->setText(m_ctx->runner().runningId() == m_job ? tr("Starting…") : tr("Queued behind %1").arg(m_ctx->runner().runningLabel()));
  setRunning(true);
  return true;
}

void ProfileTab::cancel() {
  if (!m_job) return;
  m_ctx->runner().cancel(m_job);
  m_job = 0;
  setRunning(false);
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_status->setText(tr("Cancelled"));
}

void ProfileTab::setRunning(bool running) {
  m_run->setEnabled(!running);
  m_cancel->setEnabled(running);
  emit runningChanged(running);
}

void ProfileTab::onProgress(quint64 job, const ProfileProgressInfo& p) {
  if (job != m_job) return;
  if (p.runs > 0 && p.run > 0) {
    m_progress->setRange(0, p.runs);
    m_progress->setValue(p.run);
  }
  m_status->setText(p.phase);
}

void ProfileTab::onFinished(quint64 job, const ProfileOutcome& outcome) {
  if (job != m_job) return;
  m_job = 0;
  setRunning(false);
  m_progress->setRange(0, 1);
  m_progress->setValue(1);
  std::vector<profiler::Trace> traces;
  QStringList labels;
  std::vector<std::map<std::string, std::string>> kernels;
  LatencySummary latency;
  latency.batch = batch();
  latency.runs = runs();
  latency.when = QDateTime::currentDateTime();
  m_ctx->clearReports(kAction);
  for (int s = 0; s < kSlotCount; ++s) {
    if (!outcome.error[s].isEmpty()) m_ctx->report(MessageBar::Level::Error, tr("Profiling %1: %2").arg(slotName(s), outcome.error[s]), kAction);
    if (!outcome.trace[s]) continue;
    traces.push_back(*outcome.trace[s]);
    labels << slotName(s);
    kernels.push_back(outcome.kernels[s]);
    latency.latencyUs[s] = outcome.trace[s]->end_to_end_us_unrecorded;
    if (!outcome.unrecordedUs[s].empty()) {
      const auto spread = profiler::summarize(outcome.unrecordedUs[s]);
      latency.latencySpreadUs[s] = std::pair(spread.p10, spread.p90);
    }
    const auto st = profiler::compute_stats(*outcome.trace[s]);
    if (const auto g = profiler::gelu_op(st)) latency.geluOpUs[s] = g->us.median;
    for (const auto& r : profiler::assess_noise(st).reasons) latency.noise[s] << QString::fromStdString(r);
  }
  m_speedup.reset();
  if (!outcome.unrecordedUs[0].empty() && outcome.unrecordedUs[0].size() == outcome.unrecordedUs[1].size())
    m_speedup = profiler::bootstrap_speedup(outcome.unrecordedUs[0], outcome.unrecordedUs[1]);
  latency.speedup = m_speedup;
  if (traces.empty()) {
    m_status->setText(tr("Failed"));
    emit failed();
    return;
  }
  setTraces(std::move(traces), labels, kernels, tr("this run"));
  for (int s = 0; s < kSlotCount; ++s)
    if (!latency.noise[s].isEmpty())
      m_ctx->report(MessageBar::Level::Warning,
                    tr("%1's timing is noisy (%2): close other work and profile again").arg(slotName(s), latency.noise[s].first()), kAction);
  m_status->setText(tr("Done"));
  emit profiled(latency);
}

void ProfileTab::onJobEnded(quint64 job, bool cancelled, const QString& error) {
  if (job != m_job) return;
  m_job = 0;
  setRunning(false);
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  if (cancelled && error.isEmpty()) {
    m_status->setText(tr("Cancelled"));
    return;
  }
  m_status->setText(tr("Failed"));
  m_ctx->report(MessageBar::Level::Error, tr("Profiling failed: %1").arg(error.isEmpty() ? tr("no result") : error), kAction);
  emit failed();
}

void ProfileTab::setTraces(std::vector<profiler::Trace> traces, QStringList labels,
                           std::vector<std::map<std::string, std::string>> kernels, const QString& source) {
  m_traces = std::move(traces);
  m_labels = labels;
  m_source = source;
  m_spans->setTraces(m_traces, labels);
  m_timeline->setSearch(m_find->text());
  m_findCount->setText(m_find->text().trimmed().isEmpty() ? QString() : tr("%n match(es)", nullptr, m_timeline->matchCount()));
  for (std::size_t i = 0; i < kernels.size(); ++i) m_spans->setKernels(static_cast<int>(i), kernels[i]);
  std::optional<profiler::TraceStats> st[2];
  for (std::size_t i = 0; i < m_traces.size() && i < 2; ++i) st[i] = m_spans->stats(static_cast<int>(i));
  m_stats->setStats(st[0], st[1], labels.value(0, QStringLiteral("A")), labels.value(1, QStringLiteral("B")));
  m_diff->setStats(st[0], st[1]);
  updateRunChoices();
  m_exportJson->setEnabled(!m_traces.empty());
  m_exportCsv->setEnabled(!m_traces.empty());

  m_summary->setText(summaryText());
}

void ProfileTab::showStageHistogram(int row) {
  const int trace = m_spans->index(row, 0).data(TraceSpanModel::TraceRole).toInt();
  const std::string kind = m_spans->index(row, 0).data(TraceSpanModel::KindRole).toString().toStdString();
  m_histogramValues = m_spans->durationsOf(trace, kind);
  m_histogramTitle = tr("%1 in %2: %n span(s) over all runs and blocks", nullptr, static_cast<int>(m_histogramValues.size()))
                         .arg(QString::fromStdString(kind), m_spans->traceLabel(trace));
  const auto h = profiler::histogram(m_histogramValues);
  m_histogramBins = static_cast<int>(h.counts.size());
  if (!m_histogramDialog) {
    m_histogramDialog = new QDialog(this);
    m_histogramDialog->setObjectName(QStringLiteral("stageHistogram"));
    m_histogramDialog->resize(560, 340);
    new QVBoxLayout(m_histogramDialog);
  }
  auto* lay = m_histogramDialog->layout();
  while (auto* item = lay->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  m_histogramDialog->setWindowTitle(tr("Duration histogram — %1").arg(QString::fromStdString(kind)));
  const auto sum = profiler::summarize(m_histogramValues);
  auto* head = new QLabel(m_histogramTitle + tr("<br>median %1 µs, p10–p90 %2–%3 µs, min %4, max %5")
                                                 .arg(sum.median, 0, 'f', 2)
                                                 .arg(sum.p10, 0, 'f', 2)
                                                 .arg(sum.p90, 0, 'f', 2)
                                                 .arg(sum.min, 0, 'f', 2)
                                                 .arg(sum.max, 0, 'f', 2),
                          m_histogramDialog);
  head->setWordWrap(true);
  lay->addWidget(head);
#ifdef SWINSCOPE_HAVE_QTCHARTS
  auto* set = new QBarSet(QString::fromStdString(kind));
  QStringList cats;
  for (std::size_t b = 0; b < h.counts.size(); ++b) {
    *set << h.counts[b];
    cats << QString::number(h.lo + (static_cast<double>(b) + 0.5) * h.width, 'f', 1);
  }
  set->setColor(kindColour(kind));
  auto* series = new QBarSeries;
  series->append(set);
  series->setBarWidth(1.0);
  auto* chart = new QChart;
  chart->addSeries(series);
  chart->legend()->hide();
  chart->setAnimationOptions(QChart::NoAnimation);
  auto* x = new QBarCategoryAxis;
  x->append(cats);
  x->setTitleText(tr("µs (bin centre)"));
  auto* y = new QValueAxis;
  y->setLabelFormat(QStringLiteral("%d"));
  y->setTitleText(tr("spans"));
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  series->attachAxis(x);
  series->attachAxis(y);
  auto* view = new QChartView(chart, m_histogramDialog);
  view->setRenderHint(QPainter::Antialiasing);
  lay->addWidget(view);
#endif
  m_histogramDialog->show();
  m_histogramDialog->raise();
}

QString ProfileTab::summaryText() const {
  // The headline: each trace's end-to-end latency, the recording overhead, the removed op.
  const QStringList& labels = m_labels;
  const QString source = m_source;
  QStringList lines;
  for (std::size_t i = 0; i < m_traces.size(); ++i) {
    const auto& t = m_traces[i];
    const auto& s = m_spans->stats(static_cast<int>(i));
    QString line = QStringLiteral("<b style=\"color:%1\">%2</b> %3 · %4 · batch %5 · %6 runs on %7: ")
                       .arg(slotColour(static_cast<int>(i) % 2).name(), labels.value(static_cast<int>(i)).toHtmlEscaped(),
                            QString::fromStdString(t.context.model).toHtmlEscaped(), QString::fromStdString(t.context.variant))
                       .arg(t.context.batch)
                       .arg(s.runs)
                       .arg(QString::fromStdString(t.context.device).toHtmlEscaped());
    if (t.end_to_end_us_unrecorded > 0)
      line += tr("median <b>%1</b> per forward (recording off), recorded %2 (overhead %3 %)")
                  .arg(formatDuration(t.end_to_end_us_unrecorded), formatDuration(s.run_total_us.median))
                  .arg(100.0 * s.recording_overhead_us / t.end_to_end_us_unrecorded, 0, 'f', 1);
    else
      line += tr("median <b>%1</b> per recorded forward").arg(formatDuration(s.run_total_us.median));
    line += tr(", p10–p90 %1–%2").arg(formatDuration(s.run_total_us.p10), formatDuration(s.run_total_us.p90));
    if (const auto g = profiler::gelu_op(s))
      line += tr("; GELU op median %1 (%2 % of the median forward)").arg(formatDuration(g->us.median)).arg(100.0 * g->share, 0, 'f', 1);
    const auto noise = profiler::assess_noise(s);
    if (noise.noisy) {
      QStringList why;
      for (const auto& r : noise.reasons) why << QString::fromStdString(r).toHtmlEscaped();
      line += tr("<br><span style=\"color:#c0392b\">⚠ noisy: %1. <a href=\"rerun\">Profile again</a></span>").arg(why.join(QStringLiteral("; ")));
    }
    lines << line;
  }
  if (m_traces.size() >= 2) {
    auto e2e = [&](int i) {
      const auto& t = m_traces[static_cast<std::size_t>(i)];
      return t.end_to_end_us_unrecorded > 0 ? t.end_to_end_us_unrecorded : m_spans->stats(i).run_total_us.median;
    };
    const double a = e2e(0), b = e2e(1);
    if (a > 0 && b > 0)
      lines << tr("<b>%1</b> (medians; %2 − %3: %4 per forward)")
                   .arg(speedupSentence(a / b, m_speedup, labels.value(0), labels.value(1)), labels.value(1), labels.value(0))
                   .arg((b - a > 0 ? QStringLiteral("+") : QString()) + formatDuration(b - a));
  }
  if (!source.isEmpty()) lines << tr("<i>Source: %1</i>").arg(source.toHtmlEscaped());
  return lines.join(QStringLiteral("<br>"));
}

void ProfileTab::updateRunChoices() {
  const QSignalBlocker block(m_runChoice);
  m_runChoice->clear();
  m_runChoice->addItem(tr("median run"), TraceSpanModel::kMedianRun);
  for (int r = 0; r < m_spans->runCount(); ++r) m_runChoice->addItem(tr("run %1").arg(r), r);
  m_runChoice->setCurrentIndex(0);
}

bool ProfileTab::openTrace(const QString& path) {
  std::vector<profiler::Trace> traces;
  try {
    traces = profiler::import_chrome_json(path.toStdString());
  } catch (const std::exception& e) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot open the trace: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
  if (traces.empty()) {
    m_ctx->report(MessageBar::Level::Error, tr("%1 holds no SwinScope trace").arg(path));
    return false;
  }
  QStringList labels;
  for (std::size_t i = 0; i < traces.size(); ++i) {
    // Traces the app wrote say which slot they came from; others are named by variant.
    const QString notes = QString::fromStdString(traces[i].context.notes);
    QString label;
    if (notes.endsWith(QLatin1String("slot A"))) label = QStringLiteral("A");
    else if (notes.endsWith(QLatin1String("slot B"))) label = QStringLiteral("B");
    else label = QString::fromStdString(traces[i].context.variant.empty() ? "trace " + std::to_string(i + 1) : traces[i].context.variant);
    if (labels.contains(label)) label += QStringLiteral(" (%1)").arg(i + 1);
    labels << label;
  }
  m_speedup.reset();  // a saved trace keeps only the median of its unrecorded runs
  setTraces(std::move(traces), labels, {}, path);
  m_lastDir = QFileInfo(path).absolutePath();
  m_status->setText(tr("Opened %1").arg(QFileInfo(path).fileName()));
  return true;
}

bool ProfileTab::exportJson(const QString& path) {
  try {
    profiler::export_chrome_json(m_traces, path.toStdString());
  } catch (const std::exception& e) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot export the trace: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
  m_ctx->report(MessageBar::Level::Info, tr("Trace written to %1 (opens in Perfetto)").arg(path));
  return true;
}

bool ProfileTab::exportCsv(const QString& path) {
  // One file: profiler::to_csv's rows of every trace behind a `model` column, so A and B sort,
  // filter and pivot together in a spreadsheet or pandas.
  std::string out;
  for (std::size_t i = 0; i < m_traces.size(); ++i) {
    const std::string csv = profiler::to_csv(m_traces[i]);
    const std::size_t header_end = csv.find('\n');
    if (i == 0) out += "model,model_file,variant," + csv.substr(0, header_end + 1);
    QString label = m_labels.value(static_cast<int>(i));
    auto field = [](QString s) {
      if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n')))
        s = QLatin1Char('"') + s.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
      return s.toStdString();
    };
    const std::string prefix = field(label) + ',' + field(QString::fromStdString(m_traces[i].context.model)) + ',' +
                               field(QString::fromStdString(m_traces[i].context.variant)) + ',';
    for (std::size_t at = header_end + 1; at < csv.size();) {
      const std::size_t end = csv.find('\n', at);
      out += prefix + csv.substr(at, end - at + 1);
      at = end + 1;
    }
  }
  try {
    profiler::write_file_atomically(path.toStdString(), out);
  } catch (const std::exception& e) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot export CSV: %1").arg(QString::fromUtf8(e.what())), QStringLiteral("export"));
    return false;
  }
  m_ctx->clearReports(QStringLiteral("export"));
  m_ctx->report(MessageBar::Level::Info, tr("CSV of %n trace(s), one row per span with a model column, written to %1", nullptr,
                                            static_cast<int>(m_traces.size()))
                                             .arg(path));
  return true;
}

void ProfileTab::openTraceDialog() {
  const QString f = QFileDialog::getOpenFileName(this, tr("Open trace"), m_lastDir, tr("Trace JSON (*.json);;All files (*)"));
  if (!f.isEmpty()) openTrace(f);
}

void ProfileTab::exportJsonDialog() {
  if (m_traces.empty()) return;
  const QString f = QFileDialog::getSaveFileName(this, tr("Export trace JSON"), QDir(m_lastDir).filePath(QStringLiteral("swinscope-trace.json")),
                                                 tr("Trace JSON (*.json)"));
  if (f.isEmpty()) return;
  m_lastDir = QFileInfo(f).absolutePath();
  exportJson(f);
}

void ProfileTab::exportCsvDialog() {
  if (m_traces.empty()) return;
  const QString f = QFileDialog::getSaveFileName(this, tr("Export spans as CSV"), QDir(m_lastDir).filePath(QStringLiteral("swinscope-trace.csv")),
                                                 tr("CSV (*.csv)"));
  if (f.isEmpty()) return;
  m_lastDir = QFileInfo(f).absolutePath();
  exportCsv(f);
}

}  // namespace swinscope::gui
