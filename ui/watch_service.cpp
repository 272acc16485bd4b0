// Watch-only addresses (see watch_service.h).
#include "ui/watch_service.h"

#include <QLocale>
#include <QSettings>

#include <chrono>
#include <memory>

#include "core/client/statement_sync.h"
#include "core/wallet/slip10.h"
#include "ui/ledger_models.h"

namespace tessera::ui {

namespace {

constexpr const char* kSettingsKey = "wallet/watching";

std::unique_ptr<QSettings> openSettings(const QString& file) {
  if (file.isEmpty()) return std::make_unique<QSettings>();
  return std::make_unique<QSettings>(file, QSettings::IniFormat);
}

QString shortTime(const QDateTime& at) {
  if (!at.isValid()) return {};
  const bool today = at.date() == QDate::currentDate();
  return today ? QLocale().toString(at.time(), QLocale::ShortFormat) : QLocale().toString(at, QLocale::ShortFormat);
}

WatchCheck::State stateOf(client::StatementCheck::Outcome outcome) {
  using Outcome = client::StatementCheck::Outcome;
  switch (outcome) {
    case Outcome::Verified: return WatchCheck::State::Verified;
    case Outcome::NotAnOwner: return WatchCheck::State::NotAnOwner;
    case Outcome::NothingNew: return WatchCheck::State::NoStatement;
    case Outcome::Rejected: return WatchCheck::State::Unverified;
    case Outcome::Unreachable: return WatchCheck::State::Unreachable;
  }
  return WatchCheck::State::Unverified;
}

}  // namespace

WatchModel::WatchModel(QString settings_file, QObject* parent)
    : QAbstractTableModel(parent), settings_file_(std::move(settings_file)) {
  load();
}

QString WatchModel::validateAddress(const QString& text) {
  const QString trimmed = text.trimmed();
  if (trimmed.isEmpty()) return tr("Type or paste a Solana address.");
  try {
    (void)wallet::parse_address(trimmed.toStdString());
    return {};
  } catch (const std::exception&) {
    return tr("\"%1\" is not a Solana address: an address is 32 to 44 letters and digits (base58, without 0, O, I "
              "or l). Check that it was copied whole.")
        .arg(trimmed.left(60));
  }
}

bool WatchModel::add(const QString& address, const QString& label, QString* error) {
  const QString trimmed = address.trimmed();
  QString why = validateAddress(trimmed);
  if (why.isEmpty())
    for (const auto& entry : entries_)
      if (entry.address == trimmed) why = tr("%1 is already in the list.").arg(trimmed);
  if (!why.isEmpty()) {
    if (error != nullptr) *error = why;
    return false;
  }
  const int row = static_cast<int>(entries_.size());
  beginInsertRows({}, row, row);
  Entry entry;
  entry.address = trimmed;
  entry.label = label.trimmed();
  entry.last.address = trimmed;
  entries_.push_back(std::move(entry));
  endInsertRows();
  save();
  Q_EMIT addressesChanged();
  return true;
}

void WatchModel::remove(int row) {
  if (row < 0 || row >= rowCount()) return;
  beginRemoveRows({}, row, row);
  entries_.erase(entries_.begin() + row);
  endRemoveRows();
  save();
  Q_EMIT addressesChanged();
}

void WatchModel::setLabel(int row, const QString& label) {
  if (row < 0 || row >= rowCount()) return;
  entries_[static_cast<std::size_t>(row)].label = label.trimmed();
  save();
  Q_EMIT dataChanged(index(row, Label), index(row, Label));
}

QStringList WatchModel::addresses() const {
  QStringList list;
  for (const auto& entry : entries_) list << entry.address;
  return list;
}

void WatchModel::setHidden(bool hidden) {
  if (hidden == hidden_) return;
  hidden_ = hidden;
  if (!entries_.empty()) Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

void WatchModel::load() {
  const auto settings = openSettings(settings_file_);
  const auto list = settings->value(QString::fromLatin1(kSettingsKey)).toList();
  for (const auto& item : list) {
    const auto map = item.toMap();
    const QString address = map.value(QStringLiteral("address")).toString().trimmed();
    if (!validateAddress(address).isEmpty()) continue;  // a hand-edited settings file: skip what is not an address
    bool duplicate = false;
    for (const auto& entry : entries_) duplicate = duplicate || entry.address == address;
    if (duplicate) continue;
    Entry entry;
    entry.address = address;
    entry.label = map.value(QStringLiteral("label")).toString();
    entry.last.address = address;
    entries_.push_back(std::move(entry));
  }
}

void WatchModel::save() const {
  QVariantList list;
  for (const auto& entry : entries_)
    list << QVariantMap{{QStringLiteral("address"), entry.address}, {QStringLiteral("label"), entry.label}};
  const auto settings = openSettings(settings_file_);
  settings->setValue(QString::fromLatin1(kSettingsKey), list);
}

void WatchModel::applySnapshot(const WatchSnapshot& snapshot) {
  for (std::size_t row = 0; row < entries_.size(); ++row) {
    auto& entry = entries_[row];
    for (const auto& check : snapshot.checks) {
      if (check.address != entry.address) continue;
      entry.last_attempt = snapshot.checked_at;
      if (check.state == WatchCheck::State::Unreachable) {
        entry.error = check.message;  // the figures shown stay the last verified ones
      } else {
        entry.error.clear();
        entry.last = check;
        if (check.state != WatchCheck::State::NoHub) entry.last_checked = snapshot.checked_at;
      }
      break;
    }
  }
  if (!entries_.empty()) Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

QString WatchModel::statusText(const Entry& entry) const {
  QString text;
  switch (entry.last.state) {
    case WatchCheck::State::Pending: text = tr("Not checked yet"); break;
    case WatchCheck::State::Verified: text = tr("Verified"); break;
    case WatchCheck::State::NotAnOwner: text = tr("Owns nothing in this run yet"); break;
    case WatchCheck::State::NoStatement: text = tr("No statement yet: the hub has not settled an epoch"); break;
    case WatchCheck::State::Unverified: text = tr("Unverified: %1").arg(entry.last.message); break;
    case WatchCheck::State::Unreachable: text = entry.last.message; break;
    case WatchCheck::State::NoHub: text = entry.last.message; break;
  }
  if (!entry.error.isEmpty())
    text = tr("Hub unreachable: %1 (tried %2, retrying)").arg(entry.error, shortTime(entry.last_attempt)) +
           (entry.last.state == WatchCheck::State::Verified ? tr("; showing the last verified figures") : QString());
  return text;
}

int WatchModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(entries_.size());
}
int WatchModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant WatchModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto& entry = entries_[static_cast<std::size_t>(index.row())];
  const auto& last = entry.last;
  const bool verified = last.state == WatchCheck::State::Verified;
  const bool known = verified || last.state == WatchCheck::State::NotAnOwner;
  if (role == Qt::TextAlignmentRole) {
    const bool left = index.column() == Label || index.column() == Address || index.column() == Run ||
                      index.column() == Status;
    return QVariant::fromValue((left ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
  }
  if (role == Qt::ToolTipRole) {
    if (index.column() == Address) return entry.address;
    if (index.column() == Rejected || index.column() == Checks)
      return last.state == WatchCheck::State::Verified
                 ? tr("In epoch %1, from this address's verified leaf: %2 receipts the hub rejected; spot checks of "
                      "its nodes' work: %3 passed, %4 failed")
                       .arg(last.epoch)
                       .arg(last.epoch_rejected)
                       .arg(last.epoch_checks_passed)
                       .arg(last.epoch_checks_failed)
                 : tr("From the address's verified leaf: receipts rejected and spot checks in the statement's epoch");
    if (index.column() == Status) return statusText(entry);
    return {};
  }
  if (role == Qt::EditRole && index.column() == Label) return entry.label;
  if (role != Qt::DisplayRole) return {};
  const QString dots = QStringLiteral("••••••");
  const QString none = QStringLiteral("—");
  switch (index.column()) {
    case Label: return entry.label;
    case Address: return entry.address.left(6) + QStringLiteral("…") + entry.address.right(6);
    case Run: return last.run.isEmpty() ? none : last.run;
    case Units:
      if (!known) return none;
      if (hidden_) return dots;
      if (last.data_units == 0) return formatFlops(static_cast<double>(last.units) * 1e6);
      return tr("%1 (data %2)").arg(formatFlops(static_cast<double>(last.units) * 1e6),
                                    QLocale().toString(static_cast<qulonglong>(last.data_units)));
    case Share:
      if (!known) return none;
      if (hidden_) return dots;
      return formatNumber(last.run_units == 0 ? 0.0
                                              : 100.0 * static_cast<double>(last.units) / static_cast<double>(last.run_units),
                          4) +
             QStringLiteral(" %");
    case Revenue:
      if (!known) return none;
      return hidden_ ? dots : formatAmount(static_cast<qint64>(last.revenue), last.currency);
    case Epoch: return known && last.epoch >= 0 ? QVariant::fromValue<qint64>(last.epoch) : QVariant(none);
    case Rejected: return verified ? QVariant(QLocale().toString(last.epoch_rejected)) : QVariant(none);
    case Checks:
      if (!verified) return none;
      return tr("%1 ✓ %2 ✗").arg(QLocale().toString(last.epoch_checks_passed), QLocale().toString(last.epoch_checks_failed));
    case LastChecked: return entry.last_checked.isValid() ? shortTime(entry.last_checked) : tr("never");
    case Status: return statusText(entry);
    default: return {};
  }
}

bool WatchModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return false;
  if (role != Qt::EditRole || index.column() != Label) return false;
  setLabel(index.row(), value.toString());
  return true;
}

Qt::ItemFlags WatchModel::flags(const QModelIndex& index) const {
  if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return Qt::NoItemFlags;
  auto result = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
  if (index.column() == Label) result |= Qt::ItemIsEditable;
  return result;
}

QVariant WatchModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
  switch (section) {
    case Label: return tr("Label");
    case Address: return tr("Address");
    case Run: return tr("Run");
    case Units: return tr("Ownership units");
    case Share: return tr("Share");
    case Revenue: return tr("Revenue verified");
    case Epoch: return tr("Epoch");
    case Rejected: return tr("Rejected");
    case Checks: return tr("Checks");
    case LastChecked: return tr("Last checked");
    case Status: return tr("Status");
    default: return {};
  }
}

void WatchWorker::check(const QString& hub_url, const QStringList& addresses, int timeout_ms) {
  WatchSnapshot snapshot;
  snapshot.hub_url = hub_url;
  std::vector<std::string> owners;
  for (const auto& address : addresses) owners.push_back(address.toStdString());
  try {
    const auto report = client::watch_owners(hub_url.toStdString(), owners, std::chrono::milliseconds(timeout_ms));
    for (std::size_t i = 0; i < owners.size(); ++i) {
      WatchCheck check;
      check.address = addresses[static_cast<int>(i)];
      check.run = QString::fromStdString(report.run_id);
      check.currency = QString::fromStdString(report.currency);
      if (i >= report.owners.size()) {  // the hub could not be asked at all
        check.state = report.unreachable ? WatchCheck::State::Unreachable : WatchCheck::State::Unverified;
        check.message = QString::fromStdString(report.error);
      } else {
        const auto& owner = report.owners[i];
        check.state = stateOf(owner.check.outcome);
        check.message = QString::fromStdString(owner.check.message);
        check.epoch = static_cast<qint64>(owner.check.epoch);
        if (check.state == WatchCheck::State::Verified) {
          check.units = owner.proof.leaf.units;
          check.run_units = owner.statement.total_units;
          check.revenue = owner.proof.leaf.revenue;
          check.epoch_rejected = owner.proof.leaf.rejected_receipts;
          check.epoch_checks_passed = owner.proof.leaf.checks_passed;
          check.epoch_checks_failed = owner.proof.leaf.checks_failed;
          check.data_units = owner.proof.leaf.data_units;
          if (!owner.currency.empty()) check.currency = QString::fromStdString(owner.currency);
        }
      }
      snapshot.checks.push_back(check);
    }
  } catch (const std::exception& error) {
    for (const auto& address : addresses) {
      WatchCheck check;
      check.address = address;
      check.state = WatchCheck::State::Unverified;
      check.message = QString::fromUtf8(error.what());
      snapshot.checks.push_back(check);
    }
  }
  snapshot.checked_at = QDateTime::currentDateTime();
  Q_EMIT checked(snapshot);
}

WatchService::WatchService(QString settings_file, QObject* parent) : QObject(parent) {
  qRegisterMetaType<WatchSnapshot>();
  model_ = new WatchModel(std::move(settings_file), this);
  worker_ = new WatchWorker();
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName(QStringLiteral("watch"));
  thread_.start();
  timer_.setSingleShot(true);
  connect(&timer_, &QTimer::timeout, this, &WatchService::refresh);
  connect(worker_, &WatchWorker::checked, this, [this](const WatchSnapshot& snapshot) {
    running_ = false;
    if (snapshot.hub_url == hub_url_) model_->applySnapshot(snapshot);  // else the hub changed meanwhile
    bool failed = false;
    for (const auto& check : snapshot.checks) failed = failed || check.state == WatchCheck::State::Unreachable;
    Q_EMIT checked(snapshot);
    if (again_) {
      again_ = false;
      refresh();
      return;
    }
    schedule(failed);
  });
  connect(model_, &WatchModel::addressesChanged, this, &WatchService::refresh);
}

WatchService::~WatchService() {
  thread_.quit();
  thread_.wait();
}

void WatchService::setHubUrl(const QString& url) {
  if (configured_ && url.trimmed() == hub_url_) return;
  configured_ = true;
  hub_url_ = url.trimmed();
  refresh();
}

void WatchService::setIntervals(int interval_ms, int retry_ms, int request_timeout_ms) {
  interval_ms_ = interval_ms;
  retry_ms_ = retry_ms;
  timeout_ms_ = request_timeout_ms;
}

void WatchService::refresh() {
  timer_.stop();
  if (running_) {
    again_ = true;
    return;
  }
  const QStringList addresses = model_->addresses();
  if (hub_url_.isEmpty()) {
    // The local network settles only this computer's own work: nothing public to follow.
    WatchSnapshot snapshot;
    snapshot.checked_at = QDateTime::currentDateTime();
    for (const auto& address : addresses) {
      WatchCheck check;
      check.address = address;
      check.state = WatchCheck::State::NoHub;
      check.message = tr("No hub configured: Tessera uses the local network on this computer, which has no public "
                         "statements. Set a hub URL in Settings to follow these addresses.");
      snapshot.checks.push_back(check);
    }
    model_->applySnapshot(snapshot);
    Q_EMIT checked(snapshot);
    return;
  }
  if (addresses.isEmpty()) return;
  running_ = true;
  QMetaObject::invokeMethod(
      worker_, [w = worker_, url = hub_url_, addresses, timeout = timeout_ms_] { w->check(url, addresses, timeout); },
      Qt::QueuedConnection);
}

void WatchService::showSample(const WatchSnapshot& snapshot) {
  model_->applySnapshot(snapshot);
  Q_EMIT checked(snapshot);
}

void WatchService::schedule(bool failed) {
  const int delay = failed ? retry_ms_ : interval_ms_;
  next_check_ = QDateTime::currentDateTime().addMSecs(delay);
  timer_.start(delay);
}

}  // namespace tessera::ui
