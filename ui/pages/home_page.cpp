// Home page (see home_page.h).
#include "ui/pages/home_page.h"

#include <QButtonGroup>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStyle>
#include <QThread>
#include <QToolButton>

#include "core/control/power_policy.h"
#include "ui/ledger_models.h"
#include "ui/node_settings.h"
#include "ui/node_supervisor.h"
#include "ui/pages/page_helpers.h"

namespace tessera::ui {

QString describeState(const QString& state) {
  if (state == QStringLiteral("starting")) return QObject::tr("Starting…");
  if (state == QStringLiteral("joining")) return QObject::tr("Joining the run…");
  if (state == QStringLiteral("running")) return QObject::tr("Contributing");
  if (state == QStringLiteral("paused")) return QObject::tr("Paused");
  if (state == QStringLiteral("snoozed")) return QObject::tr("Paused for a while");
  if (state == QStringLiteral("waiting")) return QObject::tr("Waiting");
  if (state == QStringLiteral("error")) return QObject::tr("Problem");
  if (state == QStringLiteral("excluded")) return QObject::tr("Excluded from this run");
  return QObject::tr("Not started");
}

namespace {

const char* const kProfileKeys[] = {"light", "balanced", "full"};  // object names, in PowerProfile's order

QString capsText(control::PowerProfile profile) {
  const int threads = QThread::idealThreadCount();
  const auto caps = control::profile_caps(profile, threads, 0);
  return QObject::tr("Device busy up to %1 % of the time · %2 of %3 CPU threads · device memory: %4")
      .arg(static_cast<int>(caps.device_share * 100))
      .arg(caps.threads)
      .arg(threads)
      .arg(profile == control::PowerProfile::Light      ? QObject::tr("a quarter")
           : profile == control::PowerProfile::Balanced ? QObject::tr("half")
                                                     : QObject::tr("up to 90 %"));
}

}  // namespace

QString describeReachability(const control::NodeStatus& status) {
  const QString how = QString::fromStdString(status.reachability);
  const QString endpoint = QString::fromStdString(status.endpoint);
  const QString detail = QString::fromStdString(status.reachability_detail);
  if (how == QStringLiteral("direct")) return QObject::tr("Reachable directly at %1").arg(endpoint);
  if (how == QStringLiteral("port mapping"))
    return QObject::tr("Reachable through a port your router opened for it (%1)").arg(detail);
  if (how == QStringLiteral("relay"))
    return QObject::tr("Reachable through a relay (%1): your router lets nobody in, so another contributor passes "
                       "the encrypted traffic on").arg(detail);
  if (how == QStringLiteral("unchecked"))
    return QObject::tr("Serving at %1 (this hub does not check reachability)").arg(endpoint);
  if (how == QStringLiteral("unreachable"))
    return QObject::tr("Not reachable by other contributors: %1").arg(detail);
  return {};
}

HomePage::HomePage(NodeSupervisor* node, NodeSettings* settings, QWidget* parent)
    : QWidget(parent), node_(node), settings_(settings) {
  setObjectName(QStringLiteral("HomePage"));
  auto* layout = makePageLayout(this, tr("Home"));
  buildCrashBanner(layout);
  buildHero(layout);
  buildPowerCard(layout);
  buildLiveCard(layout);
  layout->addStretch();
  connectServices();
  updateButton();
}

// The crash banner, hidden until the node dies.
void HomePage::buildCrashBanner(QVBoxLayout* layout) {
  crash_banner_ = new QFrame(this);
  crash_banner_->setObjectName(QStringLiteral("banner"));
  auto* banner_layout = new QVBoxLayout(crash_banner_);
  auto* banner_top = new QHBoxLayout();
  crash_reason_ = new QLabel(crash_banner_);
  crash_reason_->setWordWrap(true);
  crash_reason_->setObjectName(QStringLiteral("crashReason"));
  auto* restart = new QPushButton(tr("Restart"), crash_banner_);
  restart->setObjectName(QStringLiteral("restartButton"));
  banner_top->addWidget(crash_reason_, 1);
  banner_top->addWidget(restart);
  crash_log_ = new QPlainTextEdit(crash_banner_);
  crash_log_->setReadOnly(true);
  crash_log_->setMaximumHeight(110);
  crash_log_->setObjectName(QStringLiteral("crashLog"));
  banner_layout->addLayout(banner_top);
  banner_layout->addWidget(crash_log_);
  crash_banner_->hide();
  layout->addWidget(crash_banner_);
  if (node_ != nullptr) connect(restart, &QPushButton::clicked, node_, &NodeSupervisor::restartNow);
}

// The big button with the state beside it.
void HomePage::buildHero(QVBoxLayout* layout) {
  QVBoxLayout* hero_layout = nullptr;
  auto* hero = makeCard({}, &hero_layout, this);
  auto* hero_row = new QHBoxLayout();
  hero_row->setSpacing(28);
  start_ = new QPushButton(tr("Start"), hero);
  start_->setObjectName(QStringLiteral("startButton"));
  start_->setFixedSize(96 * 2, 96);
  start_->setCursor(Qt::PointingHandCursor);
  connect(start_, &QPushButton::clicked, this, &HomePage::onStartPause);
  hero_row->addWidget(start_, 0, Qt::AlignVCenter);
  auto* state_column = new QVBoxLayout();
  state_ = new QLabel(describeState({}), hero);
  state_->setObjectName(QStringLiteral("pageTitle"));
  reason_ = makeMuted(tr("Press Start to give your computer's spare power to the run."), hero);
  reason_->setWordWrap(true);
  reason_->setObjectName(QStringLiteral("stateReason"));
  network_ = makeMuted({}, hero);
  network_->setWordWrap(true);
  state_column->addStretch();
  state_column->addWidget(state_);
  state_column->addWidget(reason_);
  state_column->addWidget(network_);
  state_column->addStretch();
  hero_row->addLayout(state_column, 1);
  buildPauseMenu(hero);
  hero_row->addWidget(pause_menu_, 0, Qt::AlignTop);
  hero_layout->addLayout(hero_row);
  layout->addWidget(hero);
}

void HomePage::buildPauseMenu(QWidget* hero) {
  pause_menu_ = new QToolButton(hero);
  pause_menu_->setText(tr("Pause options"));
  pause_menu_->setObjectName(QStringLiteral("pauseMenu"));
  pause_menu_->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(pause_menu_);
  for (int hours : {1, 3, 8}) {
    menu->addAction(tr("Pause for %n hour(s)", nullptr, hours), this, [this, hours] {
      if (node_ != nullptr) node_->snooze(static_cast<qint64>(hours) * 3600);
    });
  }
  menu->addSeparator();
  menu->addAction(tr("Finish this step, then pause"), this, [this] {
    if (node_ != nullptr) node_->pauseContribution(/*finish_step=*/true);
  });
  pause_menu_->setMenu(menu);
}

void HomePage::buildPowerCard(QVBoxLayout* layout) {
  QVBoxLayout* profile_layout = nullptr;
  auto* profile_card = makeCard(tr("Power"), &profile_layout, this);
  auto* profile_row = new QHBoxLayout();
  profiles_ = new QButtonGroup(this);
  const QString names[] = {tr("Light"), tr("Balanced"), tr("Full")};
  for (int i = 0; i < 3; ++i) {
    auto* button = new QPushButton(names[i], profile_card);
    button->setCheckable(true);
    button->setObjectName(QStringLiteral("profile_%1").arg(QString::fromLatin1(kProfileKeys[i])));
    button->setMinimumWidth(110);
    profiles_->addButton(button, i);
    profile_row->addWidget(button);
  }
  profiles_->button(1)->setChecked(true);
  profile_row->addStretch();
  advanced_toggle_ = new QToolButton(profile_card);
  advanced_toggle_->setText(tr("Advanced"));
  advanced_toggle_->setCheckable(true);
  advanced_toggle_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  advanced_toggle_->setArrowType(Qt::RightArrow);
  advanced_toggle_->setObjectName(QStringLiteral("advancedToggle"));
  profile_row->addWidget(advanced_toggle_);
  profile_layout->addLayout(profile_row);
  profile_caps_ = makeMuted(capsText(control::PowerProfile::Balanced), profile_card);
  profile_caps_->setWordWrap(true);
  profile_layout->addWidget(profile_caps_);
  connect(profiles_, &QButtonGroup::idClicked, this, &HomePage::onProfileChosen);
  buildAdvanced(profile_card, profile_layout);
  layout->addWidget(profile_card);
}

void HomePage::buildAdvanced(QWidget* profile_card, QVBoxLayout* profile_layout) {
  advanced_ = new QWidget(profile_card);
  auto* advanced_form = new QFormLayout(advanced_);
  advanced_form->setContentsMargins(0, 4, 0, 0);
  threads_ = new QSpinBox(advanced_);
  threads_->setRange(0, 1024);
  threads_->setSpecialValueText(tr("from the profile"));
  threads_->setObjectName(QStringLiteral("threads"));
  device_share_ = new QDoubleSpinBox(advanced_);
  device_share_->setRange(0, 100);
  device_share_->setDecimals(0);
  device_share_->setSuffix(QStringLiteral(" %"));
  device_share_->setSpecialValueText(tr("from the profile"));
  device_share_->setObjectName(QStringLiteral("deviceShare"));
  memory_ = new QSpinBox(advanced_);
  memory_->setRange(0, 1 << 20);
  memory_->setSingleStep(512);
  memory_->setSuffix(QStringLiteral(" MiB"));
  memory_->setSpecialValueText(tr("from the profile"));
  memory_->setObjectName(QStringLiteral("memoryLimit"));
  advanced_form->addRow(tr("CPU threads"), threads_);
  advanced_form->addRow(tr("Device share"), device_share_);
  advanced_form->addRow(tr("Device memory limit"), memory_);
  advanced_->setVisible(false);
  profile_layout->addWidget(advanced_);
  connect(advanced_toggle_, &QToolButton::toggled, this, [this](bool open) {
    advanced_->setVisible(open);
    advanced_toggle_->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
  });
  for (auto* box : {threads_, memory_})
    connect(box, &QSpinBox::editingFinished, this, &HomePage::onAdvancedEdited);
  connect(device_share_, &QDoubleSpinBox::editingFinished, this, &HomePage::onAdvancedEdited);
}

void HomePage::buildLiveCard(QVBoxLayout* layout) {
  QVBoxLayout* status_layout = nullptr;
  auto* status_card = makeCard(tr("Live"), &status_layout, this);
  auto* grid = new QGridLayout();
  grid->setHorizontalSpacing(28);
  grid->setVerticalSpacing(14);
  run_ = new Figure(tr("Run"), status_card);
  stage_ = new Figure(tr("Stage"), status_card);
  peers_ = new Figure(tr("Peers"), status_card);
  step_rate_ = new Figure(tr("Steps per minute"), status_card);
  loss_ = new Figure(tr("Loss"), status_card);
  tokens_ = new Figure(tr("Tokens per second"), status_card);
  device_ = new Figure(tr("Device"), status_card);
  temperature_ = new Figure(tr("Temperature"), status_card);
  const Figure* figures[] = {run_, stage_, peers_, step_rate_, loss_, tokens_, device_, temperature_};
  for (int i = 0; i < 8; ++i) grid->addWidget(const_cast<Figure*>(figures[i]), i / 4, i % 4);
  for (int c = 0; c < 4; ++c) grid->setColumnStretch(c, 1);
  status_layout->addLayout(grid);
  reachability_ = new QLabel(status_card);
  reachability_->setObjectName(QStringLiteral("reachability"));
  reachability_->setWordWrap(true);
  status_layout->addWidget(reachability_);
  traffic_ = new QLabel(status_card);
  traffic_->setObjectName(QStringLiteral("traffic"));
  status_layout->addWidget(traffic_);
  layout->addWidget(status_card);
}

// The node's and the settings' signals; shows the current settings.
void HomePage::connectServices() {
  if (node_ != nullptr) {
    connect(node_, &NodeSupervisor::statusChanged, this, &HomePage::showStatus);
    connect(node_, &NodeSupervisor::crashed, this, &HomePage::showCrash);
    connect(node_, &NodeSupervisor::phaseChanged, this, [this](NodeSupervisor::Phase phase) {
      if (phase == NodeSupervisor::Phase::Connected || phase == NodeSupervisor::Phase::Launching)
        crash_banner_->hide();
      if (phase == NodeSupervisor::Phase::Launching) {
        state_key_ = QStringLiteral("starting");
        state_->setText(describeState(state_key_));
        reason_->setText(tr("Starting the node…"));
      } else if (phase == NodeSupervisor::Phase::Stopped) {
        state_key_.clear();
        state_->setText(describeState(state_key_));
      }
      updateButton();
    });
  }
  if (settings_ != nullptr) {
    connect(settings_, &NodeSettings::changed, this, &HomePage::showSettings);
    showSettings(settings_->values());
  }
}

QString HomePage::stateText() const { return state_->text(); }

void HomePage::updateButton() {
  const bool running = state_key_ == QStringLiteral("running") || state_key_ == QStringLiteral("joining") ||
                       state_key_ == QStringLiteral("starting") || state_key_ == QStringLiteral("waiting");
  start_->setText(running ? tr("Pause") : tr("Start"));
  start_->setProperty("running", running);
  start_->style()->unpolish(start_);
  start_->style()->polish(start_);
  pause_menu_->setEnabled(running);
}

void HomePage::onStartPause() {
  if (node_ == nullptr) return;
  const bool running = start_->property("running").toBool();
  if (running)
    node_->pauseContribution(false);
  else
    node_->startContribution();
}

void HomePage::onProfileChosen(int id) {
  if (id < 0 || id > 2) return;
  const auto profile = static_cast<control::PowerProfile>(id);
  profile_caps_->setText(capsText(profile));
  if (updating_ || settings_ == nullptr) return;
  auto next = settings_->values();
  next.profile = profile;
  settings_->apply(next);
}

void HomePage::onAdvancedEdited() {
  if (updating_ || settings_ == nullptr) return;
  auto next = settings_->values();
  next.threads = threads_->value();
  next.device_share = device_share_->value() / 100.0;
  next.memory_limit_mib = memory_->value();
  settings_->apply(next);
}

void HomePage::showSettings(const control::NodeSettings& settings) {
  updating_ = true;
  const int profile = static_cast<int>(settings.profile);
  profiles_->button(profile)->setChecked(true);
  profile_caps_->setText(capsText(settings.profile));
  threads_->setValue(settings.threads);
  device_share_->setValue(settings.device_share * 100.0);
  memory_->setValue(static_cast<int>(settings.memory_limit_mib));
  updating_ = false;
}

void HomePage::showStatus(const control::NodeStatus& status) {
  state_key_ = QString::fromStdString(status.state);
  state_->setText(describeState(state_key_));
  const QString reason = QString::fromStdString(status.reason);
  if (state_key_ == QStringLiteral("excluded"))
    reason_->setText(tr("The hub excluded this computer from run %1: %2. It does no more work for this run and will "
                        "not try to join it again. To contribute elsewhere, set another hub in Settings.")
                         .arg(QString::fromStdString(status.run), reason.isEmpty() ? tr("no reason given") : reason));
  else
    reason_->setText(reason.isEmpty() ? (state_key_ == QStringLiteral("running")
                                             ? tr("Training your stage of the model.")
                                             : tr("Press Start to give your computer's spare power to the run."))
                                      : reason);
  const QString network = QString::fromStdString(status.network);
  network_->setText(network == QStringLiteral("local") || network.isEmpty()
                        ? tr("Local network: an embedded hub and local peers on this computer (no hub configured).")
                        : tr("Hub: %1").arg(network));
  run_->setValue(QString::fromStdString(status.run));
  stage_->setValue(tr("%1 of %2").arg(status.stage + 1).arg(status.stages));
  peers_->setValue(QString::number(status.peers));
  step_rate_->setValue(formatNumber(status.step_rate * 60.0, 1));
  loss_->setValue(status.loss ? formatNumber(*status.loss, 3) : QStringLiteral("—"));
  tokens_->setValue(formatNumber(status.tokens_per_s, 0));
  device_->setValue(QString::fromStdString(status.device));
  temperature_->setValue(status.temperature_c ? tr("%1 °C").arg(formatNumber(*status.temperature_c, 0))
                                              : tr("unknown"));
  reachability_->setText(describeReachability(status));
  reachability_->setVisible(!reachability_->text().isEmpty());
  const auto carried = status.traffic.bytes.total();
  const auto per_token = status.traffic.bytes_per_token();
  const auto compression = status.traffic.compression();
  traffic_->setText(tr("Network: %1 MB sent · %2 MB received · %3 bytes/token · %4")
                        .arg(formatNumber(static_cast<double>(carried.sent) / 1e6, 1),
                             formatNumber(static_cast<double>(carried.received) / 1e6, 1),
                             per_token ? formatNumber(*per_token, 0) : QStringLiteral("—"),
                             compression ? tr("%1× less than raw float32").arg(formatNumber(*compression, 1))
                                         : tr("compression not measured yet")));
  updateButton();
}

void HomePage::showCrash(const QString& reason, const QStringList& last_lines, int restart_in_ms) {
  state_key_ = QStringLiteral("error");
  state_->setText(describeState(state_key_));
  crash_reason_->setText(restart_in_ms >= 0 ? tr("%1. Restarting in %2 s. Its last words are below.")
                                                  .arg(reason)
                                                  .arg((restart_in_ms + 999) / 1000)
                                            : tr("%1. Its last words are below.").arg(reason));
  crash_log_->setPlainText(last_lines.isEmpty() ? tr("(the node printed nothing)") : last_lines.join(QLatin1Char('\n')));
  crash_banner_->show();
  reason_->setText(reason);
  updateButton();
}

}  // namespace tessera::ui
