// Home: the one big Start/Pause, the power profile (with its explicit caps under Advanced), the
// pause-for menu, and the node's live status. Crashes show as a banner with the node's last log
// lines and a Restart button.
#pragma once

#include <QWidget>

#include "core/control/node_settings.h"
#include "core/control/node_status.h"

class QButtonGroup;
class QDoubleSpinBox;
class QFrame;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QToolButton;
class QVBoxLayout;

namespace tessera::ui {

class NodeSettings;
class NodeSupervisor;
class Figure;

class HomePage : public QWidget {
  Q_OBJECT

 public:
  // Either may be null (screenshots); profile changes go through `settings`, which reaches the
  // running node or, with none, its settings file.
  HomePage(NodeSupervisor* node, NodeSettings* settings, QWidget* parent = nullptr);

  // What the page shows; public so --screenshots and tests can show a known status.
  void showStatus(const tessera::control::NodeStatus& status);
  void showSettings(const tessera::control::NodeSettings& settings);
  void showCrash(const QString& reason, const QStringList& last_lines, int restart_in_ms);
  QString stateText() const;

 private:
  // Construction steps, in the order the constructor takes them.
  void buildCrashBanner(QVBoxLayout* layout);
  void buildHero(QVBoxLayout* layout);
  void buildPauseMenu(QWidget* hero);
  void buildPowerCard(QVBoxLayout* layout);
  void buildAdvanced(QWidget* profile_card, QVBoxLayout* profile_layout);
  void buildLiveCard(QVBoxLayout* layout);
  void connectServices();

  void onStartPause();
  void onProfileChosen(int id);
  void onAdvancedEdited();
  void updateButton();

  NodeSupervisor* node_;
  NodeSettings* settings_;
  QPushButton* start_ = nullptr;
  QToolButton* pause_menu_ = nullptr;
  QLabel* state_ = nullptr;
  QLabel* reason_ = nullptr;
  QLabel* network_ = nullptr;
  QButtonGroup* profiles_ = nullptr;
  QLabel* profile_caps_ = nullptr;
  QToolButton* advanced_toggle_ = nullptr;
  QWidget* advanced_ = nullptr;
  QSpinBox* threads_ = nullptr;
  QDoubleSpinBox* device_share_ = nullptr;
  QSpinBox* memory_ = nullptr;
  QFrame* crash_banner_ = nullptr;
  QLabel* crash_reason_ = nullptr;
  QPlainTextEdit* crash_log_ = nullptr;
  Figure* run_ = nullptr;
  Figure* stage_ = nullptr;
  Figure* peers_ = nullptr;
  Figure* step_rate_ = nullptr;
  Figure* loss_ = nullptr;
  Figure* tokens_ = nullptr;
  Figure* device_ = nullptr;
  Figure* temperature_ = nullptr;
  QLabel* reachability_ = nullptr;  // how other contributors reach this node
  QLabel* traffic_ = nullptr;  // what the node's connections carried, and per token trained
  QString state_key_;
  bool updating_ = false;
};

// Human words for the node's state key.
QString describeState(const QString& state);
// How other contributors reach the node (direct, a router's port mapping, a relay), in words; empty
// before it joined.
QString describeReachability(const control::NodeStatus& status);

}  // namespace tessera::ui
