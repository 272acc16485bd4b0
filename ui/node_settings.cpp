// Node settings: through the control API or the local file (see node_settings.h).
#include "ui/node_settings.h"

#include <QDir>
#include <QJsonDocument>
#include <QThreadPool>

#include <fstream>
#include <iterator>

#include "core/node/power_policy.h"
#include "core/wallet/secure_file.h"
#include "ui/json_convert.h"
#include "ui/node_supervisor.h"

namespace tessera::ui {

namespace {

QVariantMap merged(QVariantMap base, const QVariantMap& patch) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().typeId() == QMetaType::QVariantMap && base.value(it.key()).typeId() == QMetaType::QVariantMap)
      base.insert(it.key(), merged(base.value(it.key()).toMap(), it.value().toMap()));
    else
      base.insert(it.key(), it.value());
  }
  return base;
}

}  // namespace

QVariantMap NodeSettings::defaults() {
  auto json = node::PowerSettings{}.to_json();
  json["hub_url"] = "";
  return toVariant(json).toMap();
}

NodeSettings::NodeSettings(NodeSupervisor* node, QString data_dir, QObject* parent)
    : QObject(parent), node_(node), data_dir_(std::move(data_dir)) {
  load();
  if (node_ != nullptr) {
    connect(node_, &NodeSupervisor::settingsChanged, this, [this](const QVariantMap& settings) {
      values_ = merged(values_, settings);
      Q_EMIT changed(values_);
    });
    connect(node_, &NodeSupervisor::callFailed, this, [this](const QString& what, const QString& why) {
      if (what == tr("Settings")) Q_EMIT rejected(why);
    });
  }
}

QString NodeSettings::file() const { return QDir(data_dir_).filePath(QStringLiteral("settings.json")); }

void NodeSettings::load() {
  values_ = defaults();
  // A small file read once at start-up, before the window shows.
  std::ifstream in(file().toStdString(), std::ios::binary);
  if (!in) return;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    values_ = merged(values_, toVariant(nlohmann::json::parse(text)).toMap());
  } catch (const std::exception&) {
    // A damaged file: the defaults stand, and the next change rewrites it.
  }
}

void NodeSettings::apply(const QVariantMap& patch) {
  const QVariantMap next = merged(values_, patch);
  try {
    node::PowerSettings::from_json(toJson(next));  // the node's own rules
  } catch (const std::exception& error) {
    Q_EMIT rejected(QString::fromUtf8(error.what()));
    return;
  }
  values_ = next;
  Q_EMIT changed(values_);
  if (node_ != nullptr && node_->phase() == NodeSupervisor::Phase::Connected) {
    node_->updateSettings(patch);
    return;
  }
  const std::string text = toJson(values_).dump(2) + "\n";
  const std::string path = file().toStdString();
  QThreadPool::globalInstance()->start([text, path] {
    try {
      wallet::write_file_atomic(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    } catch (const std::exception&) {
      // The data folder is created with the wallet; a failure here shows when the node starts.
    }
  });
}

}  // namespace tessera::ui
