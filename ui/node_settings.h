// The node's settings as the app edits them: sent to the running node through the control API
// (which validates, persists in <data-dir>/settings.json and applies at once), or, with no node
// running, validated with the same rules (core/node/power_policy.h) and written to that file for
// the node to read when it starts. File writes happen on the thread pool, never the GUI thread.
#pragma once

#include <QObject>
#include <QVariantMap>

namespace tessera::ui {

class NodeSupervisor;

class NodeSettings : public QObject {
  Q_OBJECT

 public:
  NodeSettings(NodeSupervisor* node, QString data_dir, QObject* parent = nullptr);

  const QVariantMap& values() const { return values_; }
  // Merges `patch` (nested objects merge too); reports a validation error instead of applying it.
  void apply(const QVariantMap& patch);
  QString file() const;

  static QVariantMap defaults();

 Q_SIGNALS:
  void changed(const QVariantMap& values);
  void rejected(const QString& why);

 private:
  void load();

  NodeSupervisor* node_;
  QString data_dir_;
  QVariantMap values_;
};

}  // namespace tessera::ui
