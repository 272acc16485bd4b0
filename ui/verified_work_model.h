// The Dashboards page's "Verified work" table: per recent epoch, work credited, receipts rejected
// (with reasons where known), spot checks passed and failed. The current epoch comes from the
// node's status (the hub's count so far: unsigned, and labelled so); settled epochs come from the
// verified statements in the contribution log (their leaves, checked against the hub's signature).
// A model only: the page shows it.
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <optional>
#include <vector>

#include "core/client/node_work.h"
#include "ui/ledger_service.h"

namespace tessera::ui {

class VerifiedWorkModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Epoch, Source, Credited, DataCredited, Rejected, ChecksPassed, ChecksFailed, ColumnCount };
  static constexpr int kMaxRows = 8;

  struct Row {
    qint64 epoch = 0;
    bool verified = false;          // false: the hub's count so far
    std::optional<double> credited_flops;  // verified rows: the growth of units since the epoch before, if known
    qint64 credited_receipts = -1;  // hub rows only
    qint64 rejected = 0;
    QString rejected_reasons;       // hub rows only: "tokens: 2, not-committed: 1"
    qint64 checks_passed = 0;
    qint64 checks_failed = 0;
    double verification_flops = 0;  // hub rows only
    // Verified rows: of the units credited, the data units the epoch added (the growth of the
    // statement's cumulative data units), if known.
    std::optional<qint64> credited_data_units{};
  };

  using QAbstractTableModel::QAbstractTableModel;

  // The node's status: its run and the hub's count of its latest epochs.
  void setNodeWork(const QString& run, const client::NodeWork& work);
  // The contribution log's verified statements.
  void setSnapshot(const DashboardSnapshot& data);
  const std::vector<Row>& rows() const { return rows_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  void rebuild();
  QString text(const Row& row, int column) const;

  QString run_;
  client::NodeWork hub_;
  std::vector<ledger::OwnershipPoint> ownership_;
  std::vector<Row> rows_;
};

}  // namespace tessera::ui
