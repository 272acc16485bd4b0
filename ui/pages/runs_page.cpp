// The Runs page (see runs_page.h).
#include "ui/pages/runs_page.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>

#include <stdexcept>

#include "core/protocol/run_link.h"
#include "ui/pages/page_helpers.h"

namespace tessera::ui {

QString checkRunLink(const QString& text) {
  if (text.trimmed().isEmpty()) return QObject::tr("Paste a run link first (it starts with tessera://).");
  try {
    protocol::parse_run_link(text.trimmed().toStdString());
    return {};
  } catch (const std::invalid_argument& error) {
    QString why = QString::fromUtf8(error.what());  // "not a run link (no publisher key …): '…'"
    if (!why.isEmpty()) why[0] = why[0].toUpper();
    return why;
  }
}

RunsPage::RunsPage(RunsService* service, QWidget* parent) : QWidget(parent), service_(service) {
  setObjectName(QStringLiteral("runsPage"));
  auto* content = makeScrollingPage(this);
  if (auto* scroll = findChild<QScrollArea*>()) scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  auto* layout = makePageLayout(content, tr("Runs"),
                                tr("Choose what this computer trains. Each run is an open model owned by the people "
                                   "whose computers train it; what it would earn here is an estimate."));
  auto* banner = new QFrame(content);
  banner->setObjectName(QStringLiteral("infoBanner"));
  auto* banner_layout = new QVBoxLayout(banner);
  banner_layout->setContentsMargins(14, 10, 14, 10);
  activity_ = new QLabel(service_ != nullptr ? tr("Asking the node…") : tr("The node is not running."), banner);
  activity_->setObjectName(QStringLiteral("runsActivity"));
  activity_->setWordWrap(true);
  banner_layout->addWidget(activity_);
  layout->addWidget(banner);
  error_ = new QLabel(content);
  error_->setObjectName(QStringLiteral("runsError"));
  error_->setWordWrap(true);
  error_->hide();
  layout->addWidget(error_);
  buildAddRow(layout);
  cards_layout_ = new QVBoxLayout;
  cards_layout_->setSpacing(12);
  layout->addLayout(cards_layout_);
  empty_ = makeMuted(tr("No runs yet. Paste the link of a run above: its publisher or its hub gives it out."), content);
  empty_->setWordWrap(true);
  layout->addWidget(empty_);
  buildDemoCard(layout);
  layout->addStretch(1);
  connectService();
}

void RunsPage::buildAddRow(QVBoxLayout* layout) {
  auto* row = new QHBoxLayout;
  row->setSpacing(8);
  link_ = new QLineEdit(layout->parentWidget());
  link_->setObjectName(QStringLiteral("runLink"));
  link_->setPlaceholderText(tr("Paste a run link: tessera://host:port/run#publisher-key"));
  link_->setClearButtonEnabled(true);
  add_ = new QPushButton(tr("Add run"), layout->parentWidget());
  add_->setObjectName(QStringLiteral("addRun"));
  add_->setProperty("primaryAction", true);
  row->addWidget(link_, 1);
  row->addWidget(add_);
  layout->addLayout(row);
  add_error_ = new QLabel(layout->parentWidget());
  add_error_->setObjectName(QStringLiteral("addError"));
  add_error_->setWordWrap(true);
  add_error_->hide();
  layout->addWidget(add_error_);
  connect(add_, &QPushButton::clicked, this, &RunsPage::onAdd);
  connect(link_, &QLineEdit::returnPressed, this, &RunsPage::onAdd);
  connect(link_, &QLineEdit::textEdited, this, [this] { setAddError({}); });
}

void RunsPage::buildDemoCard(QVBoxLayout* layout) {
  QVBoxLayout* inner = nullptr;
  auto* card = makeCard({}, &inner, layout->parentWidget());
  card->setObjectName(QStringLiteral("card"));
  auto* header = new QHBoxLayout;
  auto* title = new QLabel(tr("Try it on this computer"), card);
  title->setObjectName(QStringLiteral("sectionTitle"));
  auto* badge = new QLabel(tr("Demo"), card);
  badge->setObjectName(QStringLiteral("badgeDemo"));
  header->addWidget(title);
  header->addWidget(badge);
  header->addStretch(1);
  demo_button_ = new QPushButton(tr("Try it"), card);
  demo_button_->setObjectName(QStringLiteral("demoButton"));
  demo_button_->setToolTip(tr("Restarts the node on the demo network (the hub setting is cleared)"));
  header->addWidget(demo_button_);
  inner->addLayout(header);
  auto* about = makeMuted(tr("Three small processes on this computer train a tiny model together, so you can see how "
                             "contributing works before you join a real run. Nothing is earned and no hub is needed."),
                          card);
  about->setWordWrap(true);
  inner->addWidget(about);
  demo_state_ = new QLabel(tr("Not running."), card);
  demo_state_->setObjectName(QStringLiteral("demoState"));
  inner->addWidget(demo_state_);
  layout->addWidget(card);
  connect(demo_button_, &QPushButton::clicked, this, &RunsPage::demoRequested);
}

void RunsPage::connectService() {
  if (service_ == nullptr) {
    add_->setEnabled(false);
    return;
  }
  connect(service_, &RunsService::runsChanged, this, &RunsPage::showRuns);
  connect(service_, &RunsService::busyChanged, this, &RunsPage::setBusy);
  connect(service_, &RunsService::finished, this, &RunsPage::onFinished);
  connect(service_, &RunsService::failed, this, &RunsPage::onFailed);
  connect(service_, &RunsService::unreachable, this, [this](const QString& why) {
    activity_->setText(
        tr("Cannot ask the node for its runs: %1. Start it on Home; this page asks again every few seconds.").arg(why));
  });
  if (service_->hasAnswered()) showRuns(service_->runs());
}

void RunsPage::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (service_ != nullptr) service_->setPolling(true);
}

void RunsPage::hideEvent(QHideEvent* event) {
  QWidget::hideEvent(event);
  if (service_ != nullptr) service_->setPolling(false);
}

void RunsPage::showRuns(const NodeRuns& runs) {
  runs_ = runs;
  QString activity = QString::fromStdString(runs.activity);
  if (activity.isEmpty())
    activity = runs.current ? tr("Training run %1.").arg(QString::fromStdString(*runs.current))
                            : tr("Idle: not in any run. Join one below.");
  activity_->setText(tr("Now: %1").arg(activity));
  for (auto* card : cards()) {
    cards_layout_->removeWidget(card);
    delete card;
  }
  for (const auto& entry : runs.runs) {
    auto* card = new RunCard(entry, runs.current, this);
    card->setBusy(busy_);
    connect(card, &RunCard::actionRequested, this, &RunsPage::onAction);
    cards_layout_->addWidget(card);
  }
  empty_->setVisible(runs.runs.empty());
}

void RunsPage::showNodeStatus(const control::NodeStatus& status) {
  // A node started on the local network stays there until it joins a run; left, it is idle.
  const bool demo = status.network == "local" && status.state != "idle" && status.state != "error";
  demo_state_->setText(demo ? tr("Running now: this computer is on the demo network. Home shows its progress.")
                            : tr("Not running."));
  demo_button_->setVisible(!demo);
}

QString RunsPage::activityText() const { return activity_->text(); }
QString RunsPage::addError() const { return add_error_->isVisible() ? add_error_->text() : QString(); }

QList<RunCard*> RunsPage::cards() const {
  QList<RunCard*> found;
  for (int i = 0; i < cards_layout_->count(); ++i)
    if (auto* card = qobject_cast<RunCard*>(cards_layout_->itemAt(i)->widget())) found << card;
  return found;
}

void RunsPage::setAddError(const QString& text) {
  add_error_->setText(text);
  add_error_->setVisible(!text.isEmpty());
}

void RunsPage::onAdd() {
  if (service_ == nullptr || busy_) return;
  const QString link = link_->text().trimmed();
  const QString problem = checkRunLink(link);
  if (!problem.isEmpty()) return setAddError(problem);
  const auto run = protocol::parse_run_link(link.toStdString()).run_id;
  if (const auto* known = runs_.find(run); known != nullptr && known->link == link.toStdString())
    return setAddError(tr("Run %1 is already in the list.").arg(QString::fromStdString(run)));
  setAddError({});
  activity_->setText(tr("Adding %1: checking its manifest with its hub…").arg(QString::fromStdString(run)));
  service_->addRun(link);
}

void RunsPage::onAction(RunAction action, const QString& run) {
  if (service_ == nullptr || busy_) return;
  error_->hide();
  switch (action) {
    case RunAction::Join:
      activity_->setText(tr("Joining %1…").arg(run));
      return service_->joinRun(run);
    case RunAction::Switch:
      activity_->setText(tr("Switching to %1…").arg(run));
      return service_->joinRun(run);
    case RunAction::Leave:
      activity_->setText(tr("Leaving %1…").arg(run));
      return service_->leaveRun();
    case RunAction::Remove: return service_->removeRun(run);
  }
}

void RunsPage::onFinished(RunsWorker::Command command, bool ok) {
  if (command == RunsWorker::Command::Add && ok) link_->clear();
  // A command that failed leaves "Joining …" standing: show the last known state again (a failed
  // refresh has said why already).
  if (!ok && command != RunsWorker::Command::Refresh) showRuns(runs_);
}

void RunsPage::onFailed(RunsWorker::Command command, const QString& why, bool refused) {
  if (command == RunsWorker::Command::Add) {
    setAddError(refused ? tr("The node refused this run: %1").arg(why) : tr("Could not add the run: %1").arg(why));
    return;
  }
  error_->setText(tr("%1 failed: %2").arg(describeCommand(command), why));
  error_->show();
}

void RunsPage::setBusy(bool busy) {
  busy_ = busy;
  add_->setEnabled(!busy);
  for (auto* card : cards()) card->setBusy(busy);
}

}  // namespace tessera::ui
