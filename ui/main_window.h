// The desktop app's top-level window.
#pragma once

#include <QMainWindow>

namespace tessera::ui {

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
};

}  // namespace tessera::ui
