// The one place that knows Qt Charts (deprecated from Qt 6.10 on: a replacement changes only
// this adapter). Pages hand it plain series; it draws a time line chart or a grouped bar chart in
// the palette's colours.
#pragma once

#include <QColor>
#include <QList>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <QWidget>

namespace tessera::ui::charts {

struct TimeSeries {
  QString name;
  QList<QPointF> points;  // x: Unix ms, y: value
};

struct BarSet {
  QString name;
  QList<double> values;  // one per category
};

class ChartView : public QWidget {
  Q_OBJECT

 public:
  explicit ChartView(QWidget* parent = nullptr);
  ~ChartView() override;

  // Replaces what is shown. `y_title` names the unit; an empty list shows `empty_text`.
  void showTimeSeries(const QList<TimeSeries>& series, const QString& y_title, bool step_bars = false);
  void showBars(const QStringList& categories, const QList<BarSet>& sets, const QString& y_title,
                const QString& x_title = {});
  void showEmpty(const QString& text);
  int seriesCount() const;  // for tests: what is drawn now
  int pointCount() const;

 protected:
  void changeEvent(QEvent* event) override;

 private:
  static constexpr int kLines = 1;
  static constexpr int kBars = 2;
  void applyPalette();
  void ensureMode(int mode);
  struct Impl;
  Impl* impl_;
};

}  // namespace tessera::ui::charts
