// Settings: when the node may work (only when idle, not on battery, a daily schedule), device caps
// (memory, power, temperature), start at login, hub URL and data folder. Each change applies at
// once (NodeSettings: the running node, or its settings file).
#pragma once

#include <QThreadPool>
#include <QTimer>
#include <QWidget>

#include "core/control/node_settings.h"

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTimeEdit;
class QVBoxLayout;

namespace tessera::ui {

class NodeSettings;

class SettingsPage : public QWidget {
  Q_OBJECT

 public:
  SettingsPage(NodeSettings* settings, QString data_dir, QWidget* parent = nullptr);

 Q_SIGNALS:
  void hubUrlChanged(const QString& url);

 private:
  void showValues(const tessera::control::NodeSettings& values);
  void collect();

  // Construction steps, in the order the constructor takes them.
  void buildWhenCard(QWidget* content, QVBoxLayout* layout);
  void buildLimitsCard(QWidget* content, QVBoxLayout* layout);
  void buildAppCard(QWidget* content, QVBoxLayout* layout, const QString& data_dir);
  void connectEdits();
  void connectLogin();
  void connectSettings();

  NodeSettings* settings_;
  QCheckBox* only_idle_ = nullptr;
  QSpinBox* idle_minutes_ = nullptr;
  QCheckBox* battery_ = nullptr;
  QCheckBox* schedule_ = nullptr;
  QTimeEdit* start_ = nullptr;
  QTimeEdit* end_ = nullptr;
  QSpinBox* memory_ = nullptr;
  QSpinBox* power_ = nullptr;
  QSpinBox* temperature_ = nullptr;
  QCheckBox* login_ = nullptr;
  QLineEdit* hub_ = nullptr;
  QLabel* message_ = nullptr;
  QTimer debounce_;
  bool loading_ = false;
  QThreadPool login_writer_;  // one thread: the login entry is written off the GUI thread, in order
};

}  // namespace tessera::ui
