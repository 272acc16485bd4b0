// Qt Charts behind ChartView (see chart_view.h).
#include "ui/charts/chart_view.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QEvent>
#include <QLabel>
#include <QLineSeries>
#include <QStackedLayout>
#include <QValueAxis>

#include <algorithm>
#include <limits>

namespace tessera::ui::charts {

struct ChartView::Impl {
  QChart* chart = nullptr;
  QChartView* view = nullptr;
  QLabel* empty = nullptr;
  QStackedLayout* stack = nullptr;
  int series = 0;
  int points = 0;
};

ChartView::ChartView(QWidget* parent) : QWidget(parent), impl_(new Impl) {
  impl_->chart = new QChart();
  impl_->chart->legend()->setAlignment(Qt::AlignBottom);
  impl_->chart->setMargins(QMargins(4, 4, 4, 4));
  impl_->chart->setBackgroundRoundness(6);
  impl_->view = new QChartView(impl_->chart, this);
  impl_->view->setRenderHint(QPainter::Antialiasing);
  impl_->view->setMinimumHeight(180);
  impl_->empty = new QLabel(this);
  impl_->empty->setAlignment(Qt::AlignCenter);
  impl_->empty->setWordWrap(true);
  impl_->empty->setObjectName(QStringLiteral("chartEmpty"));
  impl_->empty->setMinimumHeight(180);
  impl_->stack = new QStackedLayout(this);
  impl_->stack->setContentsMargins(0, 0, 0, 0);
  impl_->stack->addWidget(impl_->view);
  impl_->stack->addWidget(impl_->empty);
  applyPalette();
  showEmpty(tr("No data yet"));
}

ChartView::~ChartView() { delete impl_; }

int ChartView::seriesCount() const { return impl_->series; }
int ChartView::pointCount() const { return impl_->points; }

void ChartView::applyPalette() {
  const QPalette p = palette();
  impl_->chart->setBackgroundBrush(p.color(QPalette::Base));
  impl_->chart->setBackgroundPen(QPen(p.color(QPalette::Mid)));
  impl_->chart->legend()->setLabelColor(p.color(QPalette::Text));
  for (auto* axis : impl_->chart->axes()) {
    axis->setLabelsColor(p.color(QPalette::Text));
    axis->setTitleBrush(p.color(QPalette::Text));
    axis->setGridLineColor(p.color(QPalette::Midlight));
    axis->setLinePenColor(p.color(QPalette::Mid));
  }
  QPalette empty_palette = impl_->empty->palette();
  empty_palette.setColor(QPalette::WindowText, p.color(QPalette::PlaceholderText));
  impl_->empty->setPalette(empty_palette);
}

void ChartView::changeEvent(QEvent* event) {
  if (event->type() == QEvent::PaletteChange) applyPalette();
  QWidget::changeEvent(event);
}

void ChartView::showEmpty(const QString& text) {
  impl_->empty->setText(text);
  impl_->stack->setCurrentWidget(impl_->empty);
  impl_->series = 0;
  impl_->points = 0;
}

namespace {

void clearChart(QChart* chart) {
  chart->removeAllSeries();
  for (auto* axis : chart->axes()) {
    chart->removeAxis(axis);
    delete axis;
  }
}

const QList<QColor>& seriesColors() {
  static const QList<QColor> colors{QColor(0x2f, 0x80, 0xed), QColor(0x27, 0xae, 0x60), QColor(0xf2, 0x99, 0x4a),
                                    QColor(0x9b, 0x51, 0xe0), QColor(0xeb, 0x57, 0x57)};
  return colors;
}

}  // namespace

void ChartView::showTimeSeries(const QList<TimeSeries>& series, const QString& y_title, bool step_bars) {
  clearChart(impl_->chart);
  int points = 0;
  double min_x = std::numeric_limits<double>::max(), max_x = std::numeric_limits<double>::lowest(), max_y = 0;
  for (const auto& s : series) {
    for (const auto& p : s.points) {
      min_x = std::min(min_x, p.x());
      max_x = std::max(max_x, p.x());
      max_y = std::max(max_y, p.y());
    }
    points += static_cast<int>(s.points.size());
  }
  if (points == 0) {
    showEmpty(tr("No data in this range yet"));
    return;
  }
  auto* x_axis = new QDateTimeAxis();
  const bool long_range = max_x - min_x > 2.0 * 86'400'000.0;
  x_axis->setFormat(long_range ? QStringLiteral("d MMM") : QStringLiteral("HH:mm"));
  x_axis->setTickCount(6);
  if (max_x <= min_x) {
    min_x -= 3'600'000.0;
    max_x += 3'600'000.0;
  }
  x_axis->setRange(QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(min_x)),
                   QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(max_x)));
  auto* y_axis = new QValueAxis();
  y_axis->setTitleText(y_title);
  y_axis->setRange(0, max_y > 0 ? max_y * 1.15 : 1.0);
  y_axis->setLabelFormat(max_y >= 100 ? QStringLiteral("%.0f") : QStringLiteral("%.2f"));
  impl_->chart->addAxis(x_axis, Qt::AlignBottom);
  impl_->chart->addAxis(y_axis, Qt::AlignLeft);
  int index = 0;
  for (const auto& s : series) {
    auto* line = new QLineSeries();
    line->setName(s.name);
    QList<QPointF> points_to_draw;
    if (step_bars && !s.points.isEmpty()) {
      for (int i = 0; i < s.points.size(); ++i) {
        points_to_draw.push_back(s.points[i]);
        if (i + 1 < s.points.size()) points_to_draw.push_back({s.points[i + 1].x(), s.points[i].y()});
      }
    } else {
      points_to_draw = s.points;
    }
    line->replace(points_to_draw);
    QPen pen(seriesColors()[index++ % seriesColors().size()]);
    pen.setWidthF(2.0);
    line->setPen(pen);
    line->setPointsVisible(s.points.size() < 40);
    impl_->chart->addSeries(line);
    line->attachAxis(x_axis);
    line->attachAxis(y_axis);
  }
  impl_->chart->legend()->setVisible(series.size() > 1);
  impl_->series = static_cast<int>(series.size());
  impl_->points = points;
  applyPalette();
  impl_->stack->setCurrentWidget(impl_->view);
}

void ChartView::showBars(const QStringList& categories, const QList<BarSet>& sets, const QString& y_title) {
  clearChart(impl_->chart);
  if (categories.isEmpty()) {
    showEmpty(tr("No data in this range yet"));
    return;
  }
  auto* bars = new QBarSeries();
  double max_y = 0;
  int index = 0;
  for (const auto& set : sets) {
    auto* bar_set = new QBarSet(set.name);
    for (double v : set.values) {
      bar_set->append(v);
      max_y = std::max(max_y, v);
    }
    bar_set->setColor(seriesColors()[index++ % seriesColors().size()]);
    bar_set->setBorderColor(Qt::transparent);
    bars->append(bar_set);
  }
  impl_->chart->addSeries(bars);
  auto* x_axis = new QBarCategoryAxis();
  x_axis->append(categories);
  auto* y_axis = new QValueAxis();
  y_axis->setTitleText(y_title);
  y_axis->setRange(0, max_y > 0 ? max_y * 1.15 : 1.0);
  impl_->chart->addAxis(x_axis, Qt::AlignBottom);
  impl_->chart->addAxis(y_axis, Qt::AlignLeft);
  bars->attachAxis(x_axis);
  bars->attachAxis(y_axis);
  impl_->chart->legend()->setVisible(true);
  impl_->series = static_cast<int>(sets.size());
  impl_->points = static_cast<int>(categories.size());
  applyPalette();
  impl_->stack->setCurrentWidget(impl_->view);
}

}  // namespace tessera::ui::charts
