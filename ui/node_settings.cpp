// Node settings: through the control API or the local file (see node_settings.h).
#include "ui/node_settings.h"

#include <QDir>
#include <QThreadPool>

#include <fstream>
#include <iterator>

#include "core/wallet/secure_file.h"
#include "ui/node_supervisor.h"

namespace tessera::ui {

NodeSettings::NodeSettings(NodeSupervisor* node, QString data_dir, QObject* parent)
    : QObject(parent), node_(node), data_dir_(std::move(data_dir)) {
  load();
  if (node_ != nullptr) {
    connect(node_, &NodeSupervisor::settingsChanged, this, [this](const control::NodeSettings& settings) {
      values_ = settings;
      Q_EMIT changed(values_);
    });
    connect(node_, &NodeSupervisor::callFailed, this, [this](const QString& what, const QString& why) {
      if (what == tr("Settings")) Q_EMIT rejected(why);
    });
  }
}

QString NodeSettings::file() const { return QDir(data_dir_).filePath(QStringLiteral("settings.json")); }

void NodeSettings::load() {
  values_ = {};
  // A small file read once at start-up, before the window shows.
  std::ifstream in(file().toStdString(), std::ios::binary);
  if (!in) return;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    values_ = control::NodeSettings::from_json(nlohmann::json::parse(text));
  } catch (const std::exception&) {
    // A damaged file: the defaults stand, as they do for the node, and the next change rewrites it.
  }
}

bool NodeSettings::apply(const control::NodeSettings& next) {
  const auto patch = control::settings_patch(values_, next);
  try {
    values_ = values_.merged(patch);  // what the node does with the same patch
  } catch (const std::exception& error) {
    Q_EMIT rejected(QString::fromUtf8(error.what()));
    return false;
  }
  Q_EMIT changed(values_);
  if (node_ != nullptr && node_->phase() == NodeSupervisor::Phase::Connected) {
    node_->updateSettings(patch);
    return true;
  }
  const std::string text = values_.to_json().dump(2) + "\n";
  const std::string path = file().toStdString();
  QThreadPool::globalInstance()->start([text, path] {
    try {
      wallet::write_file_atomic(path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    } catch (const std::exception&) {
      // The data folder is created with the wallet; a failure here shows when the node starts.
    }
  });
  return true;
}

}  // namespace tessera::ui
