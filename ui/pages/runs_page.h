// Runs: choose what this computer trains. A field to paste a run link (checked as you add it:
// core/protocol/run_link.h says what is wrong with a malformed one), what the node is doing now,
// one card per run the node knows (ui/pages/run_card.h: catalog, fit for this machine, Join /
// Leave / Switch / Remove), and the local network as a clearly labelled "Try it on this computer"
// demo. Everything goes through RunsService; the page never blocks on the node.
#pragma once

#include <QWidget>

#include "core/control/node_status.h"
#include "ui/node_runs.h"
#include "ui/pages/run_card.h"
#include "ui/runs_service.h"

class QLabel;
class QLineEdit;
class QPushButton;
class QVBoxLayout;

namespace tessera::ui {

class RunsPage : public QWidget {
  Q_OBJECT

 public:
  // `service` may be null (no node: the page says so).
  explicit RunsPage(RunsService* service, QWidget* parent = nullptr);

  void showRuns(const tessera::ui::NodeRuns& runs);
  // The demo entry follows the node's network: "local" is the demo.
  void showNodeStatus(const tessera::control::NodeStatus& status);
  QString activityText() const;
  QString addError() const;  // empty when the last Add was fine
  QList<RunCard*> cards() const;

 Q_SIGNALS:
  // "Try it": the user wants the node on the local demo network.
  void demoRequested();

 protected:
  void showEvent(QShowEvent* event) override;
  void hideEvent(QHideEvent* event) override;

 private:
  void buildAddRow(QVBoxLayout* layout);
  void buildDemoCard(QVBoxLayout* layout);
  void connectService();
  void onAdd();
  void onAction(RunAction action, const QString& run);
  void onFinished(RunsWorker::Command command, bool ok);
  void onFailed(RunsWorker::Command command, const QString& why, bool refused);
  void setBusy(bool busy);
  void setAddError(const QString& text);

  RunsService* service_;
  QLabel* activity_ = nullptr;
  QLabel* error_ = nullptr;  // a Join/Leave/Switch/Remove the node refused
  QLineEdit* link_ = nullptr;
  QPushButton* add_ = nullptr;
  QLabel* add_error_ = nullptr;
  QVBoxLayout* cards_layout_ = nullptr;
  QLabel* empty_ = nullptr;
  QLabel* demo_state_ = nullptr;
  QPushButton* demo_button_ = nullptr;
  NodeRuns runs_;
  bool busy_ = false;
};

// Empty when `text` is a well-formed run link; otherwise what is wrong, in words.
QString checkRunLink(const QString& text);

}  // namespace tessera::ui
