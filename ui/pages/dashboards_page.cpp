// Dashboards page (see dashboards_page.h).
#include "ui/pages/dashboards_page.h"

#include <QButtonGroup>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMap>
#include <QPushButton>
#include <QScrollArea>
#include <QTableView>

#include <algorithm>

#include "ui/charts/chart_view.h"
#include "ui/ledger_models.h"
#include "ui/pages/page_helpers.h"
#include "ui/verified_work_model.h"

namespace tessera::ui {

namespace {

QString updatedText(const QDateTime& at) {
  return QObject::tr("Last updated %1").arg(QLocale().toString(at.time(), QLocale::ShortFormat));
}

// A card's title with its "last updated" label at the right.
void addHeading(QWidget* content, QVBoxLayout* card_layout, const QString& title, QLabel** updated) {
  auto* row = new QHBoxLayout();
  auto* label = new QLabel(title, content);
  label->setObjectName(QStringLiteral("sectionTitle"));
  *updated = new QLabel(content);
  (*updated)->setObjectName(QStringLiteral("lastUpdated"));
  row->addWidget(label);
  row->addStretch();
  row->addWidget(*updated);
  card_layout->addLayout(row);
}

}  // namespace

DashboardsPage::DashboardsPage(LedgerService* ledger, QWidget* parent) : QWidget(parent), ledger_(ledger) {
  setObjectName(QStringLiteral("DashboardsPage"));
  donated_model_ = new DonatedSeriesModel(this);
  ownership_model_ = new OwnershipModel(this);
  revenue_model_ = new RevenueModel(this);
  verified_model_ = new VerifiedWorkModel(this);

  auto* content = makeScrollingPage(this);
  auto* layout = makePageLayout(content, tr("Dashboards"));
  buildRangeRow(content, layout);
  buildDonatedCard(content, layout);
  buildLowerCards(content, layout);
  buildVerifiedCard(content, layout);
  layout->addStretch();
  connectLedger();
}

void DashboardsPage::buildRangeRow(QWidget* content, QVBoxLayout* layout) {
  auto* range_row = new QHBoxLayout();
  ranges_ = new QButtonGroup(this);
  const QString names[] = {tr("24 hours"), tr("7 days"), tr("30 days"), tr("All time")};
  for (int i = 0; i < 4; ++i) {
    auto* button = new QPushButton(names[i], content);
    button->setCheckable(true);
    button->setObjectName(QStringLiteral("range%1").arg(i));
    ranges_->addButton(button, i);
    range_row->addWidget(button);
  }
  ranges_->button(static_cast<int>(span_))->setChecked(true);
  range_row->addStretch();
  layout->addLayout(range_row);
  connect(ranges_, &QButtonGroup::idClicked, this, [this](int id) { setSpan(static_cast<ledger::Span>(id)); });
}

void DashboardsPage::buildDonatedCard(QWidget* content, QVBoxLayout* layout) {
  QVBoxLayout* donated_layout = nullptr;
  auto* donated_card = makeCard({}, &donated_layout, content);
  addHeading(content, donated_layout, tr("Compute donated"), &donated_updated_);
  auto* figures = new QHBoxLayout();
  device_hours_ = new Figure(tr("Device-hours"), donated_card);
  flops_ = new Figure(tr("Work (FLOPs)"), donated_card);
  tokens_ = new Figure(tr("Tokens"), donated_card);
  kwh_ = new Figure(tr("Energy (kWh, estimate)"), donated_card);
  for (auto* figure : {device_hours_, flops_, tokens_, kwh_}) figures->addWidget(figure, 1);
  donated_layout->addLayout(figures);
  donated_chart_ = new charts::ChartView(donated_card);
  donated_chart_->setObjectName(QStringLiteral("donatedChart"));
  donated_layout->addWidget(donated_chart_);
  layout->addWidget(donated_card);
}

// Ownership earned and inference revenue, side by side.
void DashboardsPage::buildLowerCards(QWidget* content, QVBoxLayout* layout) {
  auto* lower = new QHBoxLayout();
  lower->setSpacing(14);
  QVBoxLayout* ownership_layout = nullptr;
  auto* ownership_card = makeCard({}, &ownership_layout, content);
  addHeading(content, ownership_layout, tr("Ownership earned"), &ownership_updated_);
  ownership_chart_ = new charts::ChartView(ownership_card);
  ownership_chart_->setObjectName(QStringLiteral("ownershipChart"));
  ownership_layout->addWidget(ownership_chart_);
  ownership_split_ = makeMuted({}, ownership_card);
  ownership_split_->setObjectName(QStringLiteral("ownershipSplit"));
  ownership_split_->setWordWrap(true);
  ownership_layout->addWidget(ownership_split_);
  lower->addWidget(ownership_card, 1);

  QVBoxLayout* revenue_layout = nullptr;
  auto* revenue_card = makeCard({}, &revenue_layout, content);
  addHeading(content, revenue_layout, tr("Inference revenue"), &revenue_updated_);
  revenue_chart_ = new charts::ChartView(revenue_card);
  revenue_chart_->setObjectName(QStringLiteral("revenueChart"));
  revenue_layout->addWidget(revenue_chart_);
  lower->addWidget(revenue_card, 1);
  layout->addLayout(lower);
}

// The latest verified statement of each run, summed: units earned by compute and by data, apart
// (only a verified leaf says how many were for data).
void DashboardsPage::showOwnershipSplit() {
  QMap<QString, int> latest;  // run -> its last verified row (rows are ordered by run, epoch)
  for (int row = 0; row < ownership_model_->rowCount(); ++row)
    if (ownership_model_->index(row, OwnershipModel::Verified).data(Qt::EditRole).toBool())
      latest[ownership_model_->index(row, OwnershipModel::Run).data().toString()] = row;
  double units = 0;
  qint64 data_units = 0;
  for (const int row : latest) {
    units += ownership_model_->index(row, OwnershipModel::Units).data(Qt::EditRole).toDouble();
    data_units += ownership_model_->index(row, OwnershipModel::DataUnits).data(Qt::EditRole).toLongLong();
  }
  const double data_flops = static_cast<double>(data_units) * 1e6;
  ownership_split_->setText(latest.isEmpty() ? QString()
                                             : tr("Verified: compute units %1 · data units %2")
                                                   .arg(formatFlops(std::max(0.0, units - data_flops)),
                                                        formatDataUnits(data_units)));
}

// Per epoch: credited, rejected (why), spot checks; the hub's count labelled apart from what verified.
void DashboardsPage::buildVerifiedCard(QWidget* content, QVBoxLayout* layout) {
  QVBoxLayout* card_layout = nullptr;
  auto* card = makeCard({}, &card_layout, content);
  addHeading(content, card_layout, tr("Verified work"), &verified_updated_);
  auto* hint = makeMuted(tr("Per epoch: work credited, receipts rejected and why, spot checks of your work. The "
                            "current epoch is the hub's count so far (unsigned); settled epochs come from the hub's "
                            "signed statements, checked by your node."),
                         card);
  hint->setWordWrap(true);
  card_layout->addWidget(hint);
  auto* table = new QTableView(card);
  table->setObjectName(QStringLiteral("verifiedWorkTable"));
  table->setModel(verified_model_);
  table->verticalHeader()->setVisible(false);
  table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table->horizontalHeader()->setStretchLastSection(true);
  table->setSelectionMode(QAbstractItemView::NoSelection);
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table->setMinimumHeight(table->horizontalHeader()->sizeHint().height() +
                          VerifiedWorkModel::kMaxRows * table->verticalHeader()->defaultSectionSize() + 4);
  card_layout->addWidget(table);
  layout->addWidget(card);
}

void DashboardsPage::showNodeStatus(const control::NodeStatus& status) {
  verified_model_->setNodeWork(QString::fromStdString(status.run), status.verification);
}

// The ledger's answers, and a refresh every 30 s while the page shows.
void DashboardsPage::connectLedger() {
  if (ledger_ != nullptr) {
    connect(ledger_, &LedgerService::dashboardLoaded, this, &DashboardsPage::showData);
    connect(ledger_, &LedgerService::unavailable, this, &DashboardsPage::showUnavailable);
  }
  refresh_timer_.setInterval(30'000);
  connect(&refresh_timer_, &QTimer::timeout, this, &DashboardsPage::refresh);
}

void DashboardsPage::refresh() {
  if (ledger_ != nullptr) ledger_->loadDashboard(span_);
}

void DashboardsPage::setSpan(ledger::Span span) {
  span_ = span;
  if (auto* button = ranges_->button(static_cast<int>(span)); button != nullptr && !button->isChecked())
    button->setChecked(true);
  refresh();
}

void DashboardsPage::showEvent(QShowEvent* event) {
  refresh();
  refresh_timer_.start();
  QWidget::showEvent(event);
}

void DashboardsPage::hideEvent(QHideEvent* event) {
  refresh_timer_.stop();
  QWidget::hideEvent(event);
}

void DashboardsPage::showUnavailable(const QString& why) {
  for (auto* chart : {donated_chart_, ownership_chart_, revenue_chart_}) chart->showEmpty(why);
  for (auto* label : {donated_updated_, ownership_updated_, revenue_updated_, verified_updated_}) label->setText({});
}

void DashboardsPage::showData(const DashboardSnapshot& snapshot) {
  if (!snapshot || snapshot->span != span_) return;  // an answer for a range no longer shown

  donated_model_->setSnapshot(snapshot);
  ownership_model_->setSnapshot(snapshot);
  revenue_model_->setSnapshot(snapshot);
  verified_model_->setSnapshot(snapshot);

  device_hours_->setValue(formatNumber(snapshot->donated.device_seconds / 3600.0, 2));
  flops_->setValue(formatFlops(snapshot->donated.flops));
  tokens_->setValue(QLocale().toString(snapshot->donated.tokens));
  kwh_->setValue(formatNumber(snapshot->donated.kwh(), 3));

  // Series come from the models, the single adapter over the snapshot.
  charts::TimeSeries hours{tr("Device-hours"), {}};
  for (int row = 0; row < donated_model_->rowCount(); ++row)
    hours.points.push_back({donated_model_->index(row, DonatedSeriesModel::Time).data(Qt::EditRole).toDouble(),
                            donated_model_->index(row, DonatedSeriesModel::DeviceHours).data(Qt::EditRole).toDouble()});
  const bool daily = span_ == ledger::Span::Last30d || span_ == ledger::Span::AllTime;
  donated_chart_->showTimeSeries({hours}, daily ? tr("hours / day") : tr("hours / hour"));

  QMap<QString, charts::TimeSeries> per_run;
  for (int row = 0; row < ownership_model_->rowCount(); ++row) {
    const QString run = ownership_model_->index(row, OwnershipModel::Run).data().toString();
    auto& series = per_run[run];
    series.name = run;
    series.points.push_back({ownership_model_->index(row, OwnershipModel::Time).data(Qt::EditRole).toDouble(),
                             ownership_model_->index(row, OwnershipModel::Share).data(Qt::EditRole).toDouble() * 100.0});
  }
  showOwnershipSplit();
  if (per_run.isEmpty())
    ownership_chart_->showEmpty(tr("No statements yet: ownership appears once the hub settles an epoch."));
  else
    ownership_chart_->showTimeSeries(per_run.values(), tr("share (%)"));

  // The latest epochs that earned something (at most 8 bars a set, so labels stay readable).
  constexpr int kMaxEpochs = 8;
  QStringList epochs;
  charts::BarSet accrued{tr("Accrued"), {}}, verified{tr("Verified"), {}};
  QString currency;
  std::vector<int> rows;  // the latest that earned, oldest first
  for (int row = revenue_model_->rowCount() - 1; row >= 0 && static_cast<int>(rows.size()) < kMaxEpochs; --row) {
    if (revenue_model_->index(row, RevenueModel::Accrued).data(Qt::EditRole).toLongLong() == 0 &&
        revenue_model_->index(row, RevenueModel::Verified).data(Qt::EditRole).toLongLong() == 0)
      continue;
    rows.insert(rows.begin(), row);
  }
  bool many_runs = false;
  for (int row : rows)
    many_runs |= revenue_model_->index(row, RevenueModel::Run).data() !=
                 revenue_model_->index(rows.front(), RevenueModel::Run).data();
  for (int row : rows) {
    const QString epoch = revenue_model_->index(row, RevenueModel::Epoch).data().toString();
    epochs << (many_runs ? revenue_model_->index(row, RevenueModel::Run).data().toString() + QLatin1Char(' ') + epoch
                         : epoch);
    accrued.values << revenue_model_->index(row, RevenueModel::Accrued).data(Qt::EditRole).toDouble() / 1e6;
    verified.values << revenue_model_->index(row, RevenueModel::Verified).data(Qt::EditRole).toDouble() / 1e6;
    if (currency.isEmpty()) currency = QString::fromStdString(snapshot->revenue[static_cast<std::size_t>(row)].currency);
  }
  if (epochs.isEmpty())
    revenue_chart_->showEmpty(tr("No inference revenue yet."));
  else
    revenue_chart_->showBars(epochs, {accrued, verified}, currency, tr("epoch"));

  const QString stamp = updatedText(snapshot->loaded_at);
  for (auto* label : {donated_updated_, ownership_updated_, revenue_updated_, verified_updated_}) label->setText(stamp);
  Q_EMIT updated();
}

}  // namespace tessera::ui
