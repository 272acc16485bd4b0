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
  QList<QLineSeries*> lines;
  QBarSeries* bars = nullptr;
  int mode = 0;
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

const QList<QColor>& seriesColors() {
  static const QList<QColor> colors{QColor(0x2f, 0x80, 0xed), QColor(0x27, 0xae, 0x60), QColor(0xf2, 0x99, 0x4a),
                                    QColor(0x9b, 0x51, 0xe0), QColor(0xeb, 0x57, 0x57)};
  return colors;
}

}  // namespace

// The chart keeps its axes and series between updates and feeds them with replace(): rebuilding
// them would re-lay out the whole scene on every refresh.
void ChartView::ensureMode(int mode) {
  if (impl_->mode == mode) return;
  impl_->chart->removeAllSeries();
  for (auto* axis : impl_->chart->axes()) {
    impl_->chart->removeAxis(axis);
    delete axis;
  }
  impl_->lines.clear();
  impl_->bars = nullptr;
  impl_->mode = mode;
  if (mode == kLines) {
    auto* x_axis = new QDateTimeAxis();
    x_axis->setTickCount(6);
    auto* y_axis = new QValueAxis();
    impl_->chart->addAxis(x_axis, Qt::AlignBottom);
    impl_->chart->addAxis(y_axis, Qt::AlignLeft);
  } else if (mode == kBars) {
    impl_->bars = new QBarSeries();
    impl_->chart->addSeries(impl_->bars);
    auto* x_axis = new QBarCategoryAxis();
    auto* y_axis = new QValueAxis();
    impl_->chart->addAxis(x_axis, Qt::AlignBottom);
    impl_->chart->addAxis(y_axis, Qt::AlignLeft);
    impl_->bars->attachAxis(x_axis);
    impl_->bars->attachAxis(y_axis);
  }
  applyPalette();
}

void ChartView::showTimeSeries(const QList<TimeSeries>& series, const QString& y_title, bool step_bars) {
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
  ensureMode(kLines);
  auto* x_axis = qobject_cast<QDateTimeAxis*>(impl_->chart->axes(Qt::Horizontal).value(0));
  auto* y_axis = qobject_cast<QValueAxis*>(impl_->chart->axes(Qt::Vertical).value(0));
  const bool long_range = max_x - min_x > 2.0 * 86'400'000.0;
  x_axis->setFormat(long_range ? QStringLiteral("d MMM") : QStringLiteral("HH:mm"));
  if (max_x <= min_x) {
    min_x -= 3'600'000.0;
    max_x += 3'600'000.0;
  }
  x_axis->setRange(QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(min_x)),
                   QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(max_x)));
  y_axis->setTitleText(y_title);
  y_axis->setRange(0, max_y > 0 ? max_y * 1.15 : 1.0);
  y_axis->setLabelFormat(max_y >= 100 ? QStringLiteral("%.0f") : QStringLiteral("%.2f"));
  while (impl_->lines.size() > series.size()) {
    auto* line = impl_->lines.takeLast();
    impl_->chart->removeSeries(line);
    delete line;
  }
  while (impl_->lines.size() < series.size()) {
    auto* line = new QLineSeries();
    QPen pen(seriesColors()[impl_->lines.size() % seriesColors().size()]);
    pen.setWidthF(2.0);
    line->setPen(pen);
    impl_->chart->addSeries(line);
    line->attachAxis(x_axis);
    line->attachAxis(y_axis);
    impl_->lines.push_back(line);
  }
  for (qsizetype i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    auto* line = impl_->lines[i];
    line->setName(s.name);
    QList<QPointF> points_to_draw;
    if (step_bars && !s.points.isEmpty()) {
      for (qsizetype k = 0; k < s.points.size(); ++k) {
        points_to_draw.push_back(s.points[k]);
        if (k + 1 < s.points.size()) points_to_draw.push_back({s.points[k + 1].x(), s.points[k].y()});
      }
    } else {
      points_to_draw = s.points;
    }
    line->setPointsVisible(s.points.size() < 40);
    line->replace(points_to_draw);
  }
  impl_->chart->legend()->setVisible(series.size() > 1);
  impl_->series = static_cast<int>(series.size());
  impl_->points = points;
  impl_->stack->setCurrentWidget(impl_->view);
}

void ChartView::showBars(const QStringList& categories, const QList<BarSet>& sets, const QString& y_title,
                         const QString& x_title) {
  if (categories.isEmpty()) {
    showEmpty(tr("No data in this range yet"));
    return;
  }
  ensureMode(kBars);
  auto* x_axis = qobject_cast<QBarCategoryAxis*>(impl_->chart->axes(Qt::Horizontal).value(0));
  auto* y_axis = qobject_cast<QValueAxis*>(impl_->chart->axes(Qt::Vertical).value(0));
  double max_y = 0;
  while (impl_->bars->count() > sets.size()) impl_->bars->remove(impl_->bars->barSets().last());
  while (impl_->bars->count() < sets.size()) {
    auto* bar_set = new QBarSet({});
    bar_set->setColor(seriesColors()[impl_->bars->count() % seriesColors().size()]);
    bar_set->setBorderColor(Qt::transparent);
    impl_->bars->append(bar_set);
  }
  const auto bar_sets = impl_->bars->barSets();
  for (qsizetype i = 0; i < sets.size(); ++i) {
    bar_sets[i]->setLabel(sets[i].name);
    for (double v : sets[i].values) max_y = std::max(max_y, v);
    if (bar_sets[i]->count() > 0) bar_sets[i]->remove(0, bar_sets[i]->count());
    bar_sets[i]->append(sets[i].values);
  }
  if (x_axis->categories() != categories) x_axis->setCategories(categories);
  x_axis->setTitleText(x_title);
  y_axis->setTitleText(y_title);
  y_axis->setRange(0, max_y > 0 ? max_y * 1.15 : 1.0);
  impl_->chart->legend()->setVisible(true);
  impl_->series = static_cast<int>(sets.size());
  impl_->points = static_cast<int>(categories.size());
  impl_->stack->setCurrentWidget(impl_->view);
}

}  // namespace tessera::ui::charts
