// Shared page building blocks (see page_helpers.h).
#include "ui/pages/page_helpers.h"

#include <QScrollArea>

namespace tessera::ui {

QVBoxLayout* makePageLayout(QWidget* page, const QString& title, const QString& subtitle) {
  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(28, 24, 28, 20);
  layout->setSpacing(14);
  auto* heading = new QLabel(title, page);
  heading->setObjectName(QStringLiteral("pageTitle"));
  layout->addWidget(heading);
  if (!subtitle.isEmpty()) {
    auto* line = makeMuted(subtitle, page);
    line->setWordWrap(true);
    layout->addWidget(line);
  }
  return layout;
}

QWidget* makeScrollingPage(QWidget* page) {
  auto* outer = new QVBoxLayout(page);
  outer->setContentsMargins(0, 0, 0, 0);
  auto* scroll = new QScrollArea(page);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  auto* content = new QWidget(scroll);
  scroll->setWidget(content);
  outer->addWidget(scroll);
  return content;
}

QFrame* makeCard(const QString& title, QVBoxLayout** layout, QWidget* parent) {
  auto* card = new QFrame(parent);
  card->setObjectName(QStringLiteral("card"));
  auto* inner = new QVBoxLayout(card);
  inner->setContentsMargins(16, 14, 16, 14);
  inner->setSpacing(10);
  if (!title.isEmpty()) {
    auto* heading = new QLabel(title, card);
    heading->setObjectName(QStringLiteral("sectionTitle"));
    inner->addWidget(heading);
  }
  *layout = inner;
  return card;
}

QLabel* makeMuted(const QString& text, QWidget* parent) {
  auto* label = new QLabel(text, parent);
  label->setObjectName(QStringLiteral("muted"));
  return label;
}

Figure::Figure(const QString& caption, QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  value_ = new QLabel(QStringLiteral("—"), this);
  value_->setObjectName(QStringLiteral("figureValue"));
  value_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* label = new QLabel(caption, this);
  label->setObjectName(QStringLiteral("figureLabel"));
  layout->addWidget(value_);
  layout->addWidget(label);
}

void Figure::setValue(const QString& value) { value_->setText(value); }
QString Figure::value() const { return value_->text(); }

}  // namespace tessera::ui
