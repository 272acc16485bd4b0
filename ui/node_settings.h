// The node's settings as the app edits them: sent to the running node through the control API
// (which checks them, persists them in <data-dir>/settings.json and applies them at once), or, with
// no node running, checked by the node's own rules (control::NodeSettings) and written to that file
// for the node to read when it starts. File writes happen on the thread pool, never the GUI thread.
#pragma once

#include <QObject>

#include "core/control/node_settings.h"

namespace tessera::ui {

class NodeSupervisor;

class NodeSettings : public QObject {
  Q_OBJECT

 public:
  NodeSettings(NodeSupervisor* node, QString data_dir, QObject* parent = nullptr);

  const control::NodeSettings& values() const { return values_; }
  // `next`: values() with the user's edits. Checks the change as the node would (the same merge
  // and rules) and applies it, or reports why not (rejected) and returns false.
  bool apply(const control::NodeSettings& next);
  QString file() const;

 Q_SIGNALS:
  void changed(const tessera::control::NodeSettings& values);
  void rejected(const QString& why);

 private:
  void load();

  NodeSupervisor* node_;
  QString data_dir_;
  control::NodeSettings values_;
};

}  // namespace tessera::ui
