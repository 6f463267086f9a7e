#include "gui/widgets/ab_diff_chart.h"

#include <QLabel>
#include <QVBoxLayout>

#include <algorithm>

#include "gui/models/ab_diff_model.h"
#include "profiler/stats.h"

#ifdef SWINSCOPE_HAVE_QTCHARTS
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBoxPlotSeries>
#include <QtCharts/QBoxSet>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QValueAxis>
#endif

namespace swinscope::gui {

AbDiffChart::AbDiffChart(QWidget* parent) : QWidget(parent) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
#ifdef SWINSCOPE_HAVE_QTCHARTS
  auto* view = new QChartView(this);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumSize(300, 120);
  m_view = view;
#else
  auto* label = new QLabel(tr("This build has no Qt Charts: the diff table shows the same numbers."), this);
  label->setWordWrap(true);
  label->setAlignment(Qt::AlignCenter);
  m_view = label;
#endif
  lay->addWidget(m_view);
  rebuild();
}

void AbDiffChart::setModel(AbDiffModel* model) {
  if (m_model) disconnect(m_model, nullptr, this, nullptr);
  m_model = model;
  if (m_model) connect(m_model, &QAbstractItemModel::modelReset, this, &AbDiffChart::rebuild);
  rebuild();
}

void AbDiffChart::setBlock(int block) {
  if (block == m_block) return;
  m_block = block;
  rebuild();
}

void AbDiffChart::rebuild() {
  m_boxes = 0;
#ifdef SWINSCOPE_HAVE_QTCHARTS
  auto* view = static_cast<QChartView*>(m_view);
  auto* chart = new QChart;
  const bool dark = palette().color(QPalette::Window).lightness() < 128;
  chart->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
  chart->setAnimationOptions(QChart::NoAnimation);
  const bool any = m_model && !m_model->rows().empty();
  if (!any) {
    chart->setTitle(tr("A/B distributions: profile A and B"));
  } else {
    const int block = m_model->perBlock() ? std::max(0, m_block) : -1;
    chart->setTitle(block < 0 ? tr("µs per forward, each stage summed over the blocks (box p25–p75, whiskers p10–p90)")
                              : tr("Block %1: µs per forward (box p25–p75, whiskers p10–p90)").arg(block));
    auto* a = new QBoxPlotSeries;
    a->setName(tr("A"));
    auto* b = new QBoxPlotSeries;
    b->setName(tr("B"));
    QStringList cats;
    double top = 0;
    for (const auto& r : m_model->rows()) {
      if (r.block != block) continue;
      const QString cat = QString::fromStdString(r.kind);
      cats << cat;
      for (int s = 0; s < 2; ++s) {
        const auto& v = s == 0 ? r.a : r.b;
        auto* box = new QBoxSet(cat);
        if (!v.empty()) {
          const auto sum = profiler::summarize(v);
          box->setValue(QBoxSet::LowerExtreme, sum.p10);
          box->setValue(QBoxSet::LowerQuartile, sum.p25);
          box->setValue(QBoxSet::Median, sum.median);
          box->setValue(QBoxSet::UpperQuartile, sum.p75);
          box->setValue(QBoxSet::UpperExtreme, sum.p90);
          top = std::max(top, sum.p90);
          ++m_boxes;
        }  // a stage the model lacks: an empty box at 0 keeps the categories aligned
        (s == 0 ? a : b)->append(box);
      }
    }
    chart->addSeries(a);
    chart->addSeries(b);
    auto* x = new QBarCategoryAxis;
    x->append(cats);
    x->setLabelsAngle(-45);
    auto* y = new QValueAxis;
    y->setRange(0, top > 0 ? top * 1.1 : 1.0);
    y->setTitleText(tr("µs"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (auto* s : {a, b}) {
      s->attachAxis(x);
      s->attachAxis(y);
    }
  }
  QChart* old = view->chart();
  view->setChart(chart);
  delete old;
#endif
}

}  // namespace swinscope::gui
