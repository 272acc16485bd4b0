// Item models over the contribution log's snapshots (see ledger_models.h).
#include "ui/ledger_models.h"

#include <QDateTime>
#include <QLocale>

#include <cmath>
#include <map>

#include "core/wallet/encoding.h"

namespace tessera::ui {

QString formatTime(qint64 at_ms) {
  return QLocale().toString(QDateTime::fromMSecsSinceEpoch(at_ms), QLocale::ShortFormat);
}

QString formatNumber(double value, int decimals) { return QLocale().toString(value, 'f', decimals); }

QString formatFlops(double flops) {
  static const char* const units[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"};
  int unit = 0;
  while (std::abs(flops) >= 1000.0 && unit < 6) {
    flops /= 1000.0;
    ++unit;
  }
  return QStringLiteral("%1 %2").arg(formatNumber(flops, flops < 10 ? 2 : 1), QString::fromLatin1(units[unit]));
}

QString formatDataUnits(qint64 units) {
  if (units == 0) return QStringLiteral("0");
  return QStringLiteral("%1 = %2").arg(QLocale().toString(units), formatFlops(static_cast<double>(units) * 1e6));
}

QString formatAmount(qint64 amount, const QString& currency) {
  // Amounts are recorded in micro-units (6 decimals, as USDC and the run manifest's price).
  return QStringLiteral("%1 %2").arg(formatNumber(static_cast<double>(amount) / 1e6, 6), currency);
}

namespace {

QString valueText(const ledger::Value& value, ledger::ColumnType type, std::string_view column) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    if (column == "at_ms") return formatTime(*integer);
    if (column == "verified") return *integer != 0 ? QObject::tr("yes") : QObject::tr("no");
    return QLocale().toString(*integer);
  }
  if (const auto* real = std::get_if<double>(&value)) {
    if (column == "flops") return formatFlops(*real);
    return formatNumber(*real, 3);
  }
  if (const auto* text = std::get_if<std::string>(&value)) return QString::fromStdString(*text);
  const auto& blob = std::get<std::vector<std::uint8_t>>(value);
  const auto hex = QString::fromStdString(wallet::to_hex(blob));
  (void)type;
  return hex.size() > 16 ? hex.left(16) + QStringLiteral("…") : hex;
}

}  // namespace

void LogTableModel::setPage(const PageSnapshot& page) {
  const bool same_columns = page_ && page && page_->table == page->table;
  if (!same_columns) beginResetModel();
  else if (!values_.empty()) {
    beginRemoveRows({}, 0, static_cast<int>(values_.size()) - 1);
    values_.clear();
    endRemoveRows();
  }
  page_ = page;
  std::vector<std::vector<ledger::Value>> values;
  if (page_)
    for (const auto& row : page_->rows) values.push_back(ledger::to_values(row.record));
  if (!same_columns) {
    values_ = std::move(values);
    endResetModel();
  } else if (!values.empty()) {
    beginInsertRows({}, 0, static_cast<int>(values.size()) - 1);
    values_ = std::move(values);
    endInsertRows();
  }
}

void LogTableModel::clear() {
  beginResetModel();
  page_.reset();
  values_.clear();
  endResetModel();
}

int LogTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(values_.size());
}

int LogTableModel::columnCount(const QModelIndex& parent) const {
  if (parent.isValid() || !page_) return 0;
  return 1 + static_cast<int>(ledger::table_info(page_->table).columns.size());
}

QVariant LogTableModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto row = static_cast<std::size_t>(index.row());
  if (role == Qt::TextAlignmentRole) {
    if (index.column() == 0) return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    const auto& value = values_[row][static_cast<std::size_t>(index.column() - 1)];
    const bool numeric = std::holds_alternative<std::int64_t>(value) || std::holds_alternative<double>(value);
    return QVariant::fromValue((numeric ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter);
  }
  if (role != Qt::DisplayRole && role != Qt::ToolTipRole) return {};
  if (index.column() == 0) return QVariant::fromValue<qint64>(page_->rows[row].seq);
  const auto& info = ledger::table_info(page_->table);
  const auto column = static_cast<std::size_t>(index.column() - 1);
  const auto& value = values_[row][column];
  if (role == Qt::ToolTipRole) {
    if (const auto* blob = std::get_if<std::vector<std::uint8_t>>(&value))
      return QString::fromStdString(wallet::to_hex(*blob));
    return {};
  }
  return valueText(value, info.columns[column].type, info.columns[column].name);
}

QVariant LogTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || !page_) return {};
  if (orientation == Qt::Vertical) return QVariant::fromValue<qint64>(page_->offset + section + 1);
  if (section == 0) return tr("seq");
  const auto& columns = ledger::table_info(page_->table).columns;
  if (section < 0 || section > static_cast<int>(columns.size())) return {};
  QString name = QString::fromLatin1(columns[static_cast<std::size_t>(section - 1)].name.data(),
                                     static_cast<qsizetype>(columns[static_cast<std::size_t>(section - 1)].name.size()));
  if (name == QStringLiteral("at_ms")) return tr("time");
  return name.replace(QLatin1Char('_'), QLatin1Char(' '));
}

// --- DonatedSeriesModel

void DonatedSeriesModel::setSnapshot(const DashboardSnapshot& data) {
  beginResetModel();
  buckets_ = data ? data->buckets : std::vector<ledger::DonatedBucket>{};
  endResetModel();
}

int DonatedSeriesModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(buckets_.size());
}
int DonatedSeriesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant DonatedSeriesModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  const auto& bucket = buckets_[static_cast<std::size_t>(index.row())];
  const bool edit = role == Qt::EditRole;  // raw numbers for charts
  switch (index.column()) {
    case Time: return edit ? QVariant::fromValue<qint64>(bucket.start_ms) : QVariant(formatTime(bucket.start_ms));
    case DeviceHours: {
      const double hours = bucket.donated.device_seconds / 3600.0;
      return edit ? QVariant(hours) : QVariant(formatNumber(hours, 2));
    }
    case Flops: return edit ? QVariant(bucket.donated.flops) : QVariant(formatFlops(bucket.donated.flops));
    case Tokens:
      return edit ? QVariant::fromValue<qint64>(bucket.donated.tokens) : QVariant(QLocale().toString(bucket.donated.tokens));
    case Kwh: return edit ? QVariant(bucket.donated.kwh()) : QVariant(formatNumber(bucket.donated.kwh(), 3));
    default: return {};
  }
}

QVariant DonatedSeriesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
  switch (section) {
    case Time: return tr("Time");
    case DeviceHours: return tr("Device-hours");
    case Flops: return tr("FLOPs");
    case Tokens: return tr("Tokens");
    case Kwh: return tr("kWh (estimate)");
    default: return {};
  }
}

// --- OwnershipModel

void OwnershipModel::setSnapshot(const DashboardSnapshot& data) {
  beginResetModel();
  points_ = data ? data->ownership : std::vector<ledger::OwnershipPoint>{};
  endResetModel();
}

int OwnershipModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(points_.size());
}
int OwnershipModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant OwnershipModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  const auto& point = points_[static_cast<std::size_t>(index.row())];
  const bool edit = role == Qt::EditRole;
  switch (index.column()) {
    case Run: return QString::fromStdString(point.run);
    case Epoch: return QVariant::fromValue<qint64>(point.epoch);
    case Time: return edit ? QVariant::fromValue<qint64>(point.at_ms) : QVariant(formatTime(point.at_ms));
    case Units: return edit ? QVariant(point.units) : QVariant(formatFlops(point.units));
    case DataUnits: return edit ? QVariant::fromValue<qint64>(point.data_units) : QVariant(formatDataUnits(point.data_units));
    case Share: return edit ? QVariant(point.share()) : QVariant(formatNumber(point.share() * 100.0, 4) + QStringLiteral(" %"));
    case Verified: return edit ? QVariant(point.verified) : QVariant(point.verified ? tr("verified") : tr("pending"));
    default: return {};
  }
}

QVariant OwnershipModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
  switch (section) {
    case Run: return tr("Run");
    case Epoch: return tr("Epoch");
    case Time: return tr("Time");
    case Units: return tr("Units");
    case DataUnits: return tr("Of them for data");
    case Share: return tr("Share");
    case Verified: return tr("Statement");
    default: return {};
  }
}

// --- RevenueModel

void RevenueModel::setSnapshot(const DashboardSnapshot& data) {
  beginResetModel();
  epochs_ = data ? data->revenue : std::vector<ledger::EpochRevenue>{};
  endResetModel();
}

int RevenueModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(epochs_.size());
}
int RevenueModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RevenueModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  const auto& epoch = epochs_[static_cast<std::size_t>(index.row())];
  const bool edit = role == Qt::EditRole;
  const auto currency = QString::fromStdString(epoch.currency);
  switch (index.column()) {
    case Run: return QString::fromStdString(epoch.run);
    case Epoch: return QVariant::fromValue<qint64>(epoch.epoch);
    case Accrued:
      return edit ? QVariant::fromValue<qint64>(epoch.accrued) : QVariant(formatAmount(epoch.accrued, currency));
    case Verified:
      if (!epoch.verified) return edit ? QVariant() : QVariant(tr("not yet"));
      return edit ? QVariant::fromValue<qint64>(*epoch.verified) : QVariant(formatAmount(*epoch.verified, currency));
    default: return {};
  }
}

QVariant RevenueModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
  switch (section) {
    case Run: return tr("Run");
    case Epoch: return tr("Epoch");
    case Accrued: return tr("Accrued");
    case Verified: return tr("Verified");
    default: return {};
  }
}

// --- BalancesModel

void BalancesModel::setSnapshot(const DashboardSnapshot& data) {
  beginResetModel();
  balances_.clear();
  if (data) {
    std::map<std::string, Balance> by_run;
    for (const auto& point : data->ownership) {  // ordered by run, epoch: the last one wins
      auto& balance = by_run[point.run];
      balance.run = QString::fromStdString(point.run);
      balance.units = point.units;
      balance.data_units = point.data_units;
      balance.share = point.share();
      if (point.verified) balance.last_verified_epoch = point.epoch;
    }
    for (const auto& epoch : data->revenue) {
      auto& balance = by_run[epoch.run];
      balance.run = QString::fromStdString(epoch.run);
      balance.currency = QString::fromStdString(epoch.currency);
      if (epoch.verified)
        balance.verified += *epoch.verified;
      else
        balance.pending += epoch.accrued;
    }
    for (auto& [run, balance] : by_run) balances_.push_back(balance);
  }
  endResetModel();
}

void BalancesModel::setHidden(bool hidden) {
  if (hidden == hidden_) return;
  hidden_ = hidden;
  if (!balances_.empty()) Q_EMIT dataChanged(index(0, Units), index(rowCount() - 1, Pending));
}

int BalancesModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(balances_.size());
}
int BalancesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant BalancesModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto& balance = balances_[static_cast<std::size_t>(index.row())];
  if (role == Qt::TextAlignmentRole)
    return QVariant::fromValue((index.column() == Run ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
  if (role != Qt::DisplayRole) return {};
  const QString dots = QStringLiteral("••••••");
  const QString currency = balance.currency.isEmpty() ? QString() : balance.currency;
  switch (index.column()) {
    case Run: return balance.run;
    case Units: return hidden_ ? dots : formatFlops(balance.units);
    case DataUnits: return hidden_ ? dots : formatDataUnits(balance.data_units);
    case Share: return hidden_ ? dots : formatNumber(balance.share * 100.0, 4) + QStringLiteral(" %");
    case Verified: return hidden_ ? dots : formatAmount(balance.verified, currency);
    case Pending: return hidden_ ? dots : formatAmount(balance.pending, currency);
    case LastVerifiedEpoch:
      return balance.last_verified_epoch < 0 ? QVariant(tr("none yet"))
                                             : QVariant::fromValue<qint64>(balance.last_verified_epoch);
    default: return {};
  }
}

QVariant BalancesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
  switch (section) {
    case Run: return tr("Run");
    case Units: return tr("Ownership units");
    case DataUnits: return tr("Of them for data");
    case Share: return tr("Share");
    case Verified: return tr("Verified, claimable");
    case Pending: return tr("Accrued, pending");
    case LastVerifiedEpoch: return tr("Last verified epoch");
    default: return {};
  }
}

}  // namespace tessera::ui
