// `tessera --screenshots DIR`: renders every page (and the first-run pages) at 1280×800 in the
// light and the dark theme to PNG files, from a sample data folder in a temporary directory (a
// sample log and a throwaway wallet), without starting a node. Works on the offscreen platform.
#pragma once

#include <QString>

class QApplication;

namespace tessera::ui {

// Returns a process exit code; prints each file written, and errors, to stderr.
int renderScreenshots(QApplication& app, const QString& dir);

}  // namespace tessera::ui
