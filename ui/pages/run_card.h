// One run on the Runs page: what the hub's catalog says of it (model and size, stages and peers
// per stage, loss, price), the fit for this machine (stage, memory needed against this machine's,
// tokens/s, units and revenue per day, each labelled an estimate, or why it does not fit), and the
// button that applies: Join when the node is idle, Leave for the current run, Switch while
// another run is current; Remove for any run but the current one.
#pragma once

#include <QFrame>
#include <QString>

#include <optional>
#include <string>

#include "ui/node_runs.h"

class QGridLayout;
class QLabel;
class QPushButton;
class QVBoxLayout;

namespace tessera::ui {

enum class RunAction { Join, Leave, Switch, Remove };

class RunCard : public QFrame {
  Q_OBJECT

 public:
  RunCard(const RunEntry& entry, const std::optional<std::string>& current, QWidget* parent = nullptr);

  QString run() const { return run_; }
  bool isCurrent() const { return current_; }
  bool canJoin() const;    // fits, listed by its hub, not retired
  void setBusy(bool busy);  // a command is in flight: the buttons wait

 Q_SIGNALS:
  void actionRequested(tessera::ui::RunAction action, const QString& run);

 private:
  void buildHeader(QVBoxLayout* layout, const RunEntry& entry, bool another_current);
  void buildCatalog(QGridLayout* grid, const RunCatalogInfo& catalog);
  void buildFit(QGridLayout* grid, const RunEntry& entry);
  QString whyNotJoinable(const RunEntry& entry) const;
  QPushButton* addButton(const QString& text, const QString& name, RunAction action);

  QString run_;
  bool current_ = false;
  std::optional<RunCatalogInfo> catalog_;
  std::optional<control::RunFit> fit_;
  QPushButton* action_ = nullptr;  // Join, Leave or Switch
  QPushButton* remove_ = nullptr;
};

}  // namespace tessera::ui
