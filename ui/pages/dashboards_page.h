// Dashboards: compute donated, ownership earned and inference revenue over 24 h / 7 d / 30 d / all,
// from the contribution log's roll-ups (LedgerService, worker thread), each with "last updated";
// and "Verified work": per recent epoch, what was credited, rejected and spot-checked, the current
// epoch as the hub counts it (from the node's status), settled ones from verified statements.
#pragma once

#include <QTimer>
#include <QWidget>

#include "core/control/node_status.h"
#include "ui/ledger_service.h"

class QButtonGroup;
class QLabel;
class QVBoxLayout;

namespace tessera::ui {

namespace charts {
class ChartView;
}
class Figure;
class DonatedSeriesModel;
class OwnershipModel;
class RevenueModel;
class VerifiedWorkModel;

class DashboardsPage : public QWidget {
  Q_OBJECT

 public:
  DashboardsPage(LedgerService* ledger, QWidget* parent = nullptr);

  void refresh();  // asks the worker; the page updates when the snapshot arrives
  ledger::Span span() const { return span_; }
  void setSpan(ledger::Span span);
  // The node's status: the hub's count of the current epoch for the Verified work card.
  void showNodeStatus(const tessera::control::NodeStatus& status);

  DonatedSeriesModel* donatedModel() const { return donated_model_; }
  OwnershipModel* ownershipModel() const { return ownership_model_; }
  RevenueModel* revenueModel() const { return revenue_model_; }
  VerifiedWorkModel* verifiedWorkModel() const { return verified_model_; }
  charts::ChartView* donatedChart() const { return donated_chart_; }
  charts::ChartView* ownershipChart() const { return ownership_chart_; }
  charts::ChartView* revenueChart() const { return revenue_chart_; }

 Q_SIGNALS:
  void updated();

 protected:
  void showEvent(QShowEvent* event) override;
  void hideEvent(QHideEvent* event) override;

 private:
  // Construction steps, in the order the constructor takes them.
  void buildRangeRow(QWidget* content, QVBoxLayout* layout);
  void buildDonatedCard(QWidget* content, QVBoxLayout* layout);
  void buildLowerCards(QWidget* content, QVBoxLayout* layout);
  void buildVerifiedCard(QWidget* content, QVBoxLayout* layout);
  void showOwnershipSplit();
  void connectLedger();

  void showData(const DashboardSnapshot& snapshot);
  void showUnavailable(const QString& why);

  LedgerService* ledger_;
  ledger::Span span_ = ledger::Span::Last7d;
  QButtonGroup* ranges_ = nullptr;
  QTimer refresh_timer_;
  Figure* device_hours_ = nullptr;
  Figure* flops_ = nullptr;
  Figure* tokens_ = nullptr;
  Figure* kwh_ = nullptr;
  QLabel* donated_updated_ = nullptr;
  QLabel* ownership_updated_ = nullptr;
  QLabel* revenue_updated_ = nullptr;
  QLabel* verified_updated_ = nullptr;
  QLabel* ownership_split_ = nullptr;  // the latest statements' units: compute and data apart
  charts::ChartView* donated_chart_ = nullptr;
  charts::ChartView* ownership_chart_ = nullptr;
  charts::ChartView* revenue_chart_ = nullptr;
  DonatedSeriesModel* donated_model_ = nullptr;
  OwnershipModel* ownership_model_ = nullptr;
  RevenueModel* revenue_model_ = nullptr;
  VerifiedWorkModel* verified_model_ = nullptr;
};

}  // namespace tessera::ui
