// Item models over the contribution log's snapshots (LedgerService): the paged table of one log
// table, the dashboards' three series, and the wallet's balances per run. Models only adapt data;
// they never open files or dialogs.
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <vector>

#include "ui/ledger_service.h"

namespace tessera::ui {

// Formatting shared by the models and pages.
QString formatTime(qint64 at_ms);
QString formatNumber(double value, int decimals = 2);
QString formatFlops(double flops);        // "3.2 PFLOP"
// Whole ownership units credited for data, beside the FLOPs they count as: "4,000 = 4.00 GFLOP".
QString formatDataUnits(qint64 units);
QString formatAmount(qint64 amount, const QString& currency);  // micro-units → "12.340000 USDC"

// One page of one table, newest first.
class LogTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  using QAbstractTableModel::QAbstractTableModel;
  void setPage(const PageSnapshot& page);
  void clear();
  ledger::Table table() const { return page_ ? page_->table : ledger::Table::Work; }
  qint64 total() const { return page_ ? page_->total : 0; }
  qint64 offset() const { return page_ ? page_->offset : 0; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  PageSnapshot page_;
  std::vector<std::vector<ledger::Value>> values_;
};

// Compute donated per hour or day: time, device-hours, FLOPs, tokens, kWh.
class DonatedSeriesModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Time, DeviceHours, Flops, Tokens, Kwh, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;
  void setSnapshot(const DashboardSnapshot& data);
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<ledger::DonatedBucket> buckets_;
};

// Ownership per run and epoch: run, epoch, time, units, of them data units, share, verified.
class OwnershipModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Run, Epoch, Time, Units, DataUnits, Share, Verified, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;
  void setSnapshot(const DashboardSnapshot& data);
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<ledger::OwnershipPoint> points_;
};

// Inference revenue per epoch: run, epoch, accrued, verified.
class RevenueModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Run, Epoch, Accrued, Verified, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;
  void setSnapshot(const DashboardSnapshot& data);
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<ledger::EpochRevenue> epochs_;
};

// The wallet's balances, one row per run: ownership units, of them data units, and share (latest epoch), revenue
// verified (claimable) and accrued but not yet verified (pending), and the last verified epoch.
class BalancesModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Run, Units, DataUnits, Share, Verified, Pending, LastVerifiedEpoch, ColumnCount };
  struct Balance {
    QString run;
    double units = 0;
    double share = 0;
    qint64 verified = 0;
    qint64 pending = 0;
    QString currency;
    qint64 last_verified_epoch = -1;
    qint64 data_units = 0;  // of `units`, credited for data shards (whole ownership units)
  };
  using QAbstractTableModel::QAbstractTableModel;
  void setSnapshot(const DashboardSnapshot& data);
  void setHidden(bool hidden);  // "hide balances": amounts show as dots
  bool isHidden() const { return hidden_; }
  const std::vector<Balance>& balances() const { return balances_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<Balance> balances_;
  bool hidden_ = false;
};

}  // namespace tessera::ui
