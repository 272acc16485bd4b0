// Small building blocks the pages share: a titled page layout, cards, figures.
#pragma once

#include <QFrame>
#include <QLabel>
#include <QString>
#include <QVBoxLayout>

namespace tessera::ui {

// A page's outer layout with its title (and an optional line under it).
QVBoxLayout* makePageLayout(QWidget* page, const QString& title, const QString& subtitle = {});
// Makes `page` a vertical scroll area and returns the content widget to lay the page out on.
QWidget* makeScrollingPage(QWidget* page);
// A rounded card with a vertical layout; `title` may be empty.
QFrame* makeCard(const QString& title, QVBoxLayout** layout, QWidget* parent = nullptr);
QLabel* makeMuted(const QString& text, QWidget* parent = nullptr);

// A big number with a caption under it.
class Figure : public QWidget {
  Q_OBJECT

 public:
  Figure(const QString& caption, QWidget* parent = nullptr);
  void setValue(const QString& value);
  QString value() const;

 private:
  QLabel* value_;
};

}  // namespace tessera::ui
