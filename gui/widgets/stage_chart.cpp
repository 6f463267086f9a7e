#include "gui/widgets/stage_chart.h"

#include <QEvent>
#include <QLabel>
#include <QVBoxLayout>

#include "gui/models/stage_stats_model.h"
#include "gui/models/stage_style.h"

#ifdef SWINSCOPE_HAVE_QTCHARTS
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSet>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QHorizontalBarSeries>
#include <QtCharts/QValueAxis>
#endif

namespace swinscope::gui {

StageChart::StageChart(QWidget* parent) : QWidget(parent) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
#ifdef SWINSCOPE_HAVE_QTCHARTS
  auto* view = new QChartView(this);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumSize(300, 120);
  m_view = view;
#else
  auto* label = new QLabel(tr("This build has no Qt Charts: the stage table shows the same numbers."), this);
  label->setWordWrap(true);
  label->setAlignment(Qt::AlignCenter);
  m_view = label;
#endif
  lay->addWidget(m_view);
  rebuild();
}

void StageChart::setModel(StageStatsModel* model) {
  if (m_model) disconnect(m_model, nullptr, this, nullptr);
  m_model = model;
  if (m_model) connect(m_model, &QAbstractItemModel::modelReset, this, &StageChart::rebuild);
  rebuild();
}

void StageChart::changeEvent(QEvent* event) {
  // Follow the system's light/dark switch.
  if (event->type() == QEvent::PaletteChange) rebuild();
  QWidget::changeEvent(event);
}

void StageChart::rebuild() {
  m_bars = 0;
#ifdef SWINSCOPE_HAVE_QTCHARTS
  auto* view = static_cast<QChartView*>(m_view);
  auto* chart = new QChart;
  const bool dark = palette().color(QPalette::Window).lightness() < 128;
  chart->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
  chart->setBackgroundBrush(palette().brush(QPalette::Base));
  chart->setTitleBrush(palette().brush(QPalette::Text));
  chart->legend()->setLabelColor(palette().color(QPalette::Text));
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setMargins(QMargins(2, 0, 2, 0));
  if (m_model && m_model->kindCount() > 0) {
    // No title: every pixel of height goes to the seventeen category labels (Qt Charts
    // drops labels that would overlap); the x axis says what is measured.
    auto* series = new QHorizontalBarSeries;
    QBarSet* sets[2] = {nullptr, nullptr};
    QStringList categories;
    // Categories draw bottom-up: reversed so the first stage is at the top, as in the table.
    for (int row = m_model->kindCount() - 1; row >= 0; --row) categories << QString::fromStdString(m_model->kindAt(row));
    for (int s = 0; s < 2; ++s) {
      if (!m_model->hasStats(s)) continue;
      sets[s] = new QBarSet(m_model->slotLabel(s));
      sets[s]->setColor(slotColour(s));
      sets[s]->setBorderColor(slotColour(s));
      for (int row = m_model->kindCount() - 1; row >= 0; --row) {
        // A stage the model lacks (the removed GELU op in B) is a zero bar: that is the point.
        sets[s]->append(m_model->medianUs(s, m_model->kindAt(row)).value_or(0.0));
        ++m_bars;
      }
    }
    // B first so that, drawn bottom-up within a category, A sits on top like the table's order.
    for (int s = 1; s >= 0; --s)
      if (sets[s]) series->append(sets[s]);
    chart->addSeries(series);
    auto* y = new QBarCategoryAxis;
    y->append(categories);
    y->setLabelsBrush(palette().brush(QPalette::Text));
    y->setTruncateLabels(false);  // stage names are the point of the axis
    // Seventeen categories: a smaller font keeps every label (Qt Charts skips labels that collide).
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.75);
    y->setLabelsFont(small);
    auto* x = new QValueAxis;
    x->setLabelFormat(QStringLiteral("%.0f"));
    x->setTitleText(tr("median µs per forward"));
    x->setTitleFont(small);
    x->setLabelsFont(small);
    x->setTitleBrush(palette().brush(QPalette::Text));
    x->setLabelsBrush(palette().brush(QPalette::Text));
    chart->addAxis(y, Qt::AlignLeft);
    chart->addAxis(x, Qt::AlignBottom);
    series->attachAxis(y);
    series->attachAxis(x);
    x->applyNiceNumbers();
    chart->legend()->setAlignment(Qt::AlignTop);
    chart->legend()->setFont(small);
  } else {
    chart->setTitle(tr("Stage times appear here after a profile"));
    chart->legend()->hide();
  }
  QChart* old = view->chart();
  view->setChart(chart);
  delete old;
#endif
}

}  // namespace swinscope::gui
