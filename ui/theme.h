// Light and dark themes on the Fusion style. The system's choice is followed (the platform
// palette's window colour tells which); --screenshots forces each in turn.
#pragma once

#include <QPalette>

class QApplication;

namespace tessera::ui {

enum class Theme { System, Light, Dark };

void applyTheme(QApplication& app, Theme theme);
bool isDark(const QPalette& palette);
// The accent colour (buttons, highlights) for a palette.
QColor accentColor(const QPalette& palette);

}  // namespace tessera::ui
