// Fusion palettes and a small style sheet for the app's own elements (see theme.h).
#include "ui/theme.h"

#include <QApplication>
#include <QStyle>
#include <QStyleFactory>

namespace tessera::ui {

namespace {

QPalette lightPalette() {
  QPalette p;
  p.setColor(QPalette::Window, QColor(0xf5, 0xf6, 0xf8));
  p.setColor(QPalette::WindowText, QColor(0x1f, 0x23, 0x28));
  p.setColor(QPalette::Base, Qt::white);
  p.setColor(QPalette::AlternateBase, QColor(0xf0, 0xf2, 0xf5));
  p.setColor(QPalette::Text, QColor(0x1f, 0x23, 0x28));
  p.setColor(QPalette::PlaceholderText, QColor(0x6a, 0x73, 0x7d));
  p.setColor(QPalette::Button, QColor(0xfb, 0xfb, 0xfc));
  p.setColor(QPalette::ButtonText, QColor(0x1f, 0x23, 0x28));
  p.setColor(QPalette::Highlight, QColor(0x2f, 0x6f, 0xde));
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::ToolTipBase, QColor(0x1f, 0x23, 0x28));
  p.setColor(QPalette::ToolTipText, Qt::white);
  p.setColor(QPalette::Link, QColor(0x2f, 0x6f, 0xde));
  p.setColor(QPalette::Mid, QColor(0xd0, 0xd7, 0xde));
  p.setColor(QPalette::Midlight, QColor(0xea, 0xee, 0xf2));
  p.setColor(QPalette::Dark, QColor(0xa0, 0xa8, 0xb0));
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x9a, 0xa1, 0xa9));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x9a, 0xa1, 0xa9));
  p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x9a, 0xa1, 0xa9));
  return p;
}

QPalette darkPalette() {
  QPalette p;
  p.setColor(QPalette::Window, QColor(0x1b, 0x1e, 0x23));
  p.setColor(QPalette::WindowText, QColor(0xe6, 0xe8, 0xeb));
  p.setColor(QPalette::Base, QColor(0x24, 0x28, 0x2e));
  p.setColor(QPalette::AlternateBase, QColor(0x2a, 0x2f, 0x36));
  p.setColor(QPalette::Text, QColor(0xe6, 0xe8, 0xeb));
  p.setColor(QPalette::PlaceholderText, QColor(0x8b, 0x94, 0x9e));
  p.setColor(QPalette::Button, QColor(0x2d, 0x32, 0x39));
  p.setColor(QPalette::ButtonText, QColor(0xe6, 0xe8, 0xeb));
  p.setColor(QPalette::Highlight, QColor(0x4c, 0x8d, 0xf6));
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::ToolTipBase, QColor(0xe6, 0xe8, 0xeb));
  p.setColor(QPalette::ToolTipText, QColor(0x1b, 0x1e, 0x23));
  p.setColor(QPalette::Link, QColor(0x6c, 0xa6, 0xff));
  p.setColor(QPalette::Mid, QColor(0x3a, 0x40, 0x48));
  p.setColor(QPalette::Midlight, QColor(0x30, 0x35, 0x3c));
  p.setColor(QPalette::Dark, QColor(0x14, 0x16, 0x1a));
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x6e, 0x76, 0x80));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x6e, 0x76, 0x80));
  p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x6e, 0x76, 0x80));
  return p;
}

}  // namespace

bool isDark(const QPalette& palette) { return palette.color(QPalette::Window).lightness() < 128; }

QColor accentColor(const QPalette& palette) { return palette.color(QPalette::Highlight); }

void applyTheme(QApplication& app, Theme theme) {
  static const QPalette system_palette = QApplication::style()->standardPalette();
  static const QPalette platform_palette = QApplication::palette();
  if (theme == Theme::System) theme = isDark(platform_palette) ? Theme::Dark : Theme::Light;
  (void)system_palette;
  QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  const QPalette palette = theme == Theme::Dark ? darkPalette() : lightPalette();
  QApplication::setPalette(palette);
  const QString accent = palette.color(QPalette::Highlight).name();
  const QString mid = palette.color(QPalette::Mid).name();
  const QString base = palette.color(QPalette::Base).name();
  const QString muted = palette.color(QPalette::PlaceholderText).name();
  const QString window = palette.color(QPalette::Window).name();
  const QString nav = theme == Theme::Dark ? QStringLiteral("#15181c") : QStringLiteral("#eceff3");
  const QString warn = theme == Theme::Dark ? QStringLiteral("#ff8a80") : QStringLiteral("#b3261e");
  app.setStyleSheet(QStringLiteral(R"(
    QListWidget#navigation { background: %6; border: none; border-right: 1px solid %2; padding-top: 12px; outline: 0; }
    QListWidget#navigation::item { padding: 10px 16px; border-radius: 6px; margin: 2px 8px; }
    QListWidget#navigation::item:selected { background: %1; color: white; }
    QPushButton[checkable="true"] { padding: 5px 14px; border: 1px solid %2; border-radius: 6px; background: %3; }
    QPushButton[checkable="true"]:checked { background: %1; color: white; border-color: %1; }
    QFrame#card { background: %3; border: 1px solid %2; border-radius: 8px; }
    QLabel#pageTitle { font-size: 20pt; font-weight: 600; }
    QLabel#sectionTitle { font-size: 12pt; font-weight: 600; }
    QLabel#muted, QLabel#lastUpdated { color: %4; }
    QLabel#figureValue { font-size: 16pt; font-weight: 600; }
    QLabel#figureLabel { color: %4; }
    QPushButton#primary { background: %1; color: white; border: none; border-radius: 6px; padding: 8px 18px; font-weight: 600; }
    QPushButton#primary:disabled { background: %2; color: %4; }
    QPushButton#startButton { background: %1; color: white; border: none; border-radius: 48px; font-size: 18pt; font-weight: 600; }
    QPushButton#startButton[running="true"] { background: %3; color: %1; border: 3px solid %1; }
    QPushButton#startButton:disabled { background: %2; color: %4; }
    QFrame#banner { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 8px; }
    QFrame#banner QLabel { color: #611a15; }
    QFrame#infoBanner { background: %5; border: 1px solid %2; border-radius: 8px; }
    QPushButton[primaryAction="true"] { background: %1; color: white; border: none; border-radius: 6px; padding: 6px 16px; font-weight: 600; }
    QPushButton[primaryAction="true"]:disabled { background: %2; color: %4; }
    QLabel#badgeCurrent, QLabel#badgeFits, QLabel#badgeNoFit, QLabel#badgeDemo { color: white; border-radius: 9px; padding: 2px 9px; font-weight: 600; }
    QLabel#badgeCurrent { background: %1; }
    QLabel#badgeFits { background: #1a7f37; }
    QLabel#badgeNoFit { background: #b3261e; }
    QLabel#badgeDemo { background: #7a4fd0; }
    QLabel#fitReason, QLabel#addError, QLabel#runsError { color: %7; }
    QLabel#fitHeading { font-weight: 600; }
    QLabel[statValue="true"] { font-size: 10.5pt; font-weight: 600; }
    QLabel#wordCell { background: %3; border: 1px solid %2; border-radius: 6px; padding: 6px 10px; font-family: monospace; }
  )")
                       .arg(accent, mid, base, muted, window, nav, warn));
}

}  // namespace tessera::ui
