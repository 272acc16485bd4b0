// The "Verified work" table (see verified_work_model.h).
#include "ui/verified_work_model.h"

#include <QLocale>

#include <algorithm>
#include <map>

#include "ui/ledger_models.h"

namespace tessera::ui {

namespace {

VerifiedWorkModel::Row hubRow(const client::EpochWork& work) {
  VerifiedWorkModel::Row row;
  row.epoch = static_cast<qint64>(work.epoch);
  row.credited_flops = work.credited_flops;
  row.credited_receipts = static_cast<qint64>(work.credited_receipts);
  row.rejected = static_cast<qint64>(work.rejected_total());
  QStringList reasons;
  for (const auto& [reason, n] : work.rejected)
    if (n > 0) reasons << QStringLiteral("%1: %2").arg(QString::fromStdString(reason), QLocale().toString(static_cast<qulonglong>(n)));
  row.rejected_reasons = reasons.join(QStringLiteral(", "));
  row.checks_passed = static_cast<qint64>(work.checks_passed);
  row.checks_failed = static_cast<qint64>(work.checks_failed);
  row.verification_flops = work.verification_flops;
  return row;
}

// The verified statements of `run`, newest epoch first, each with the units it added when the
// epoch before is in the log too.
std::vector<VerifiedWorkModel::Row> verifiedRows(const std::vector<ledger::OwnershipPoint>& points, const QString& run) {
  std::map<qint64, const ledger::OwnershipPoint*> by_epoch;
  for (const auto& point : points)
    if (point.verified && QString::fromStdString(point.run) == run) by_epoch[point.epoch] = &point;
  std::vector<VerifiedWorkModel::Row> rows;
  for (auto it = by_epoch.rbegin(); it != by_epoch.rend(); ++it) {
    VerifiedWorkModel::Row row;
    row.epoch = it->first;
    row.verified = true;
    if (const auto before = by_epoch.find(it->first - 1); before != by_epoch.end()) {
      row.credited_flops = it->second->units - before->second->units;
      row.credited_data_units = it->second->data_units - before->second->data_units;
    }
    row.rejected = it->second->epoch_rejected;
    row.checks_passed = it->second->epoch_checks_passed;
    row.checks_failed = it->second->epoch_checks_failed;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

void VerifiedWorkModel::setNodeWork(const QString& run, const client::NodeWork& work) {
  if (run == run_ && work == hub_) return;
  run_ = run;
  hub_ = work;
  rebuild();
}

void VerifiedWorkModel::setSnapshot(const DashboardSnapshot& data) {
  ownership_ = data ? data->ownership : std::vector<ledger::OwnershipPoint>{};
  rebuild();
}

// The hub's epochs newer than the newest verified one, then the verified ones.
void VerifiedWorkModel::rebuild() {
  QString run = run_;
  if (run.isEmpty()) {  // no node status: the run of the newest verified statement
    qint64 newest = -1;
    for (const auto& point : ownership_)
      if (point.verified && point.at_ms > newest) newest = point.at_ms, run = QString::fromStdString(point.run);
  }
  const auto verified = verifiedRows(ownership_, run);
  const qint64 newest_verified = verified.empty() ? -1 : verified.front().epoch;
  beginResetModel();
  rows_.clear();
  for (const auto& work : hub_)
    if (static_cast<qint64>(work.epoch) > newest_verified && static_cast<int>(rows_.size()) < kMaxRows)
      rows_.push_back(hubRow(work));
  for (const auto& row : verified)
    if (static_cast<int>(rows_.size()) < kMaxRows) rows_.push_back(row);
  endResetModel();
}

int VerifiedWorkModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}
int VerifiedWorkModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString VerifiedWorkModel::text(const Row& row, int column) const {
  const QLocale locale;
  switch (column) {
    case Epoch: return QString::number(row.epoch);
    case Source:
      if (row.verified) return tr("verified");
      return &row == &rows_.front() ? tr("so far, as the hub counts it") : tr("as the hub counts it (not yet verified)");
    case Credited: {
      if (!row.credited_flops) return QStringLiteral("—");
      const QString flops = formatFlops(*row.credited_flops);
      if (row.credited_receipts < 0) return flops;
      return (row.credited_receipts == 1 ? tr("%1 · %2 receipt") : tr("%1 · %2 receipts"))
          .arg(flops, locale.toString(row.credited_receipts));
    }
    case DataCredited: return row.credited_data_units ? formatDataUnits(*row.credited_data_units) : QStringLiteral("—");
    case Rejected:
      return row.rejected_reasons.isEmpty() ? locale.toString(row.rejected)
                                            : QStringLiteral("%1 (%2)").arg(locale.toString(row.rejected), row.rejected_reasons);
    case ChecksPassed: return locale.toString(row.checks_passed);
    case ChecksFailed: return locale.toString(row.checks_failed);
    default: return {};
  }
}

QVariant VerifiedWorkModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto& row = rows_[static_cast<std::size_t>(index.row())];
  if (role == Qt::DisplayRole) return text(row, index.column());
  if (role == Qt::TextAlignmentRole) {
    const bool left = index.column() == Source || index.column() == Rejected;
    return QVariant::fromValue((left ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
  }
  if (role == Qt::ToolTipRole && index.column() == Source)
    return row.verified ? tr("From the epoch's statement: signed by the hub and checked with this owner's Merkle proof.")
                        : tr("The hub's running count (GET /api/work): not signed. It is verified once the epoch's "
                             "signed statement arrives.");
  if (role == Qt::ToolTipRole && index.column() == Credited)
    return row.verified ? tr("Ownership units this epoch added (the statement's cumulative units minus the epoch "
                             "before's); shown when both statements are in the log.")
                        : tr("Checking others' work earned %1 more.").arg(formatFlops(row.verification_flops));
  if (role == Qt::ToolTipRole && index.column() == DataCredited)
    return tr("Of the units credited, those this epoch added for training on the data shards this owner "
              "contributed (from the statement's leaf).");
  if (role == Qt::EditRole) {
    switch (index.column()) {
      case Epoch: return row.epoch;
      case Source: return row.verified;
      case Credited: return row.credited_flops ? QVariant(*row.credited_flops) : QVariant();
      case DataCredited: return row.credited_data_units ? QVariant(*row.credited_data_units) : QVariant();
      case Rejected: return row.rejected;
      case ChecksPassed: return row.checks_passed;
      case ChecksFailed: return row.checks_failed;
      default: return {};
    }
  }
  return {};
}

QVariant VerifiedWorkModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole || orientation != Qt::Horizontal) return {};
  switch (section) {
    case Epoch: return tr("Epoch");
    case Source: return tr("Counted");
    case Credited: return tr("Credited");
    case DataCredited: return tr("Of them for data");
    case Rejected: return tr("Rejected (why)");
    case ChecksPassed: return tr("Checks passed");
    case ChecksFailed: return tr("Checks failed");
    default: return {};
  }
}

}  // namespace tessera::ui
