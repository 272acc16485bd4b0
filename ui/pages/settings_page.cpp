// Settings page (see settings_page.h).
#include "ui/pages/settings_page.h"

#include <QCheckBox>
#include <QCoreApplication>
#include <QDesktopServices>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTimeEdit>
#include <QUrl>

#include "ui/login_item.h"
#include "ui/node_settings.h"
#include "ui/pages/page_helpers.h"

namespace tessera::ui {

SettingsPage::SettingsPage(NodeSettings* settings, QString data_dir, QWidget* parent)
    : QWidget(parent), settings_(settings) {
  setObjectName(QStringLiteral("SettingsPage"));
  auto* content = makeScrollingPage(this);
  auto* layout = makePageLayout(content, tr("Settings"),
                                tr("Changes apply at once, and the node obeys them even when this window is closed."));
  buildWhenCard(content, layout);
  buildLimitsCard(content, layout);
  buildAppCard(content, layout, data_dir);
  message_ = new QLabel(content);
  message_->setObjectName(QStringLiteral("settingsMessage"));
  message_->setWordWrap(true);
  layout->addWidget(message_);
  layout->addStretch();
  connectEdits();
  connectLogin();
  connectSettings();
}

void SettingsPage::buildWhenCard(QWidget* content, QVBoxLayout* layout) {
  QVBoxLayout* when_layout = nullptr;
  auto* when = makeCard(tr("When to contribute"), &when_layout, content);
  auto* when_form = new QFormLayout();
  when_form->setLabelAlignment(Qt::AlignLeft);
  auto* idle_row = new QHBoxLayout();
  only_idle_ = new QCheckBox(tr("Only when I'm away, after"), when);
  only_idle_->setObjectName(QStringLiteral("onlyWhenIdle"));
  idle_minutes_ = new QSpinBox(when);
  idle_minutes_->setRange(1, 1440);
  idle_minutes_->setSuffix(tr(" minutes without input"));
  idle_minutes_->setObjectName(QStringLiteral("idleMinutes"));
  idle_row->addWidget(only_idle_);
  idle_row->addWidget(idle_minutes_);
  idle_row->addStretch();
  when_form->addRow(idle_row);
  battery_ = new QCheckBox(tr("Also run on battery power"), when);
  battery_->setObjectName(QStringLiteral("onBattery"));
  when_form->addRow(battery_);
  auto* schedule_row = new QHBoxLayout();
  schedule_ = new QCheckBox(tr("Only between"), when);
  schedule_->setObjectName(QStringLiteral("scheduleEnabled"));
  start_ = new QTimeEdit(when);
  end_ = new QTimeEdit(when);
  start_->setDisplayFormat(QStringLiteral("HH:mm"));
  end_->setDisplayFormat(QStringLiteral("HH:mm"));
  schedule_row->addWidget(schedule_);
  schedule_row->addWidget(start_);
  schedule_row->addWidget(new QLabel(tr("and"), when));
  schedule_row->addWidget(end_);
  schedule_row->addStretch();
  when_form->addRow(schedule_row);
  when_layout->addLayout(when_form);
  layout->addWidget(when);
}

void SettingsPage::buildLimitsCard(QWidget* content, QVBoxLayout* layout) {
  QVBoxLayout* caps_layout = nullptr;
  auto* caps = makeCard(tr("Device limits"), &caps_layout, content);
  auto* caps_form = new QFormLayout();
  memory_ = new QSpinBox(caps);
  memory_->setRange(0, 1 << 20);
  memory_->setSingleStep(512);
  memory_->setSuffix(QStringLiteral(" MiB"));
  memory_->setSpecialValueText(tr("from the power profile"));
  memory_->setObjectName(QStringLiteral("memoryCap"));
  power_ = new QSpinBox(caps);
  power_->setRange(0, 5000);
  power_->setSingleStep(10);
  power_->setSuffix(QStringLiteral(" W"));
  power_->setSpecialValueText(tr("no limit"));
  power_->setObjectName(QStringLiteral("powerCap"));
  temperature_ = new QSpinBox(caps);
  temperature_->setRange(0, 110);
  temperature_->setSuffix(QStringLiteral(" °C"));
  temperature_->setSpecialValueText(tr("no limit"));
  temperature_->setObjectName(QStringLiteral("temperatureCap"));
  caps_form->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
  for (auto* spin : {memory_, power_, temperature_}) spin->setMinimumWidth(200);
  caps_form->addRow(tr("Device memory"), memory_);
  caps_form->addRow(tr("Pause above power draw"), power_);
  caps_form->addRow(tr("Pause above GPU temperature"), temperature_);
  caps_layout->addLayout(caps_form);
  caps_layout->addWidget(makeMuted(tr("After a temperature pause, work resumes once the GPU is 5 °C cooler."), caps));
  layout->addWidget(caps);
}

void SettingsPage::buildAppCard(QWidget* content, QVBoxLayout* layout, const QString& data_dir) {
  QVBoxLayout* app_layout = nullptr;
  auto* app = makeCard(tr("App and network"), &app_layout, content);
  auto* app_form = new QFormLayout();
  login_ = new QCheckBox(tr("Start Tessera when I log in"), app);
  login_->setObjectName(QStringLiteral("startAtLogin"));
  login_->setChecked(startsAtLogin());
  app_form->addRow(login_);
  hub_ = new QLineEdit(app);
  hub_->setPlaceholderText(tr("the run's link (tessera://…) or https:// URL; empty: the local network on this computer"));
  hub_->setToolTip(tr("Paste the run link the run's publisher gives (tessera://host:port/run#key): the node then "
                      "trusts only that publisher's run. Plain http:// is accepted only to this computer."));
  hub_->setObjectName(QStringLiteral("hubUrl"));
  hub_->setMaximumWidth(520);
  app_form->addRow(tr("Hub URL"), hub_);
  auto* folder_row = new QHBoxLayout();
  auto* folder = new QLabel(data_dir, app);
  folder->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* open_folder = new QPushButton(tr("Open"), app);
  folder_row->addWidget(folder, 1);
  folder_row->addWidget(open_folder);
  app_form->addRow(tr("Data folder"), folder_row);
  app_layout->addLayout(app_form);
  app_layout->addWidget(makeMuted(tr("Another data folder: start Tessera with --data-dir FOLDER."), app));
  layout->addWidget(app);
  connect(open_folder, &QPushButton::clicked, this,
          [data_dir] { QDesktopServices::openUrl(QUrl::fromLocalFile(data_dir)); });
}

// Every edit saves, 400 ms after the last one.
void SettingsPage::connectEdits() {
  debounce_.setSingleShot(true);
  debounce_.setInterval(400);
  connect(&debounce_, &QTimer::timeout, this, &SettingsPage::collect);
  auto changed = [this] {
    if (!loading_) debounce_.start();
  };
  for (auto* box : {only_idle_, battery_, schedule_}) connect(box, &QCheckBox::toggled, this, changed);
  for (auto* spin : {idle_minutes_, memory_, power_, temperature_})
    connect(spin, &QSpinBox::valueChanged, this, changed);
  for (auto* time : {start_, end_}) connect(time, &QTimeEdit::timeChanged, this, changed);
  connect(hub_, &QLineEdit::editingFinished, this, changed);
}

void SettingsPage::connectLogin() {
  login_writer_.setMaxThreadCount(1);
  connect(login_, &QCheckBox::toggled, this, [this](bool on) {
    const QString program = QCoreApplication::applicationFilePath();
    login_writer_.start([this, program, on] {
      QString error;
      const bool written = setStartAtLogin(program, on, &error);
      const bool now = startsAtLogin();
      QMetaObject::invokeMethod(this, [this, written, error, now] {
        if (written) return;
        message_->setStyleSheet(QStringLiteral("color: #d64541;"));
        message_->setText(tr("Start at login: %1").arg(error));
        const QSignalBlocker blocker(login_);
        login_->setChecked(now);  // show what is really set
      });
    });
  });
}

void SettingsPage::connectSettings() {
  connect(settings_, &NodeSettings::changed, this, &SettingsPage::showValues);
  connect(settings_, &NodeSettings::rejected, this, [this](const QString& why) {
    message_->setStyleSheet(QStringLiteral("color: #d64541;"));
    message_->setText(tr("Not saved: %1").arg(why));
  });
  showValues(settings_->values());
}

namespace {

QTime clockTime(int minute_of_day) { return QTime(minute_of_day / 60, minute_of_day % 60); }
int minuteOfDay(const QTime& time) { return time.hour() * 60 + time.minute(); }

}  // namespace

void SettingsPage::showValues(const control::NodeSettings& values) {
  loading_ = true;
  only_idle_->setChecked(values.only_when_idle);
  idle_minutes_->setValue(values.idle_minutes);
  battery_->setChecked(values.on_battery);
  schedule_->setChecked(values.schedule.enabled);
  start_->setTime(clockTime(values.schedule.start_minute));
  end_->setTime(clockTime(values.schedule.end_minute));
  memory_->setValue(static_cast<int>(values.memory_limit_mib));
  power_->setValue(static_cast<int>(values.max_power_w));
  temperature_->setValue(static_cast<int>(values.max_temperature_c));
  if (!hub_->hasFocus()) hub_->setText(QString::fromStdString(values.hub_url));
  loading_ = false;
}

void SettingsPage::collect() {
  const QString previous_hub = QString::fromStdString(settings_->values().hub_url);
  auto next = settings_->values();
  next.only_when_idle = only_idle_->isChecked();
  next.idle_minutes = idle_minutes_->value();
  next.on_battery = battery_->isChecked();
  next.schedule = {schedule_->isChecked(), minuteOfDay(start_->time()), minuteOfDay(end_->time())};
  next.memory_limit_mib = memory_->value();
  next.max_power_w = power_->value();
  next.max_temperature_c = temperature_->value();
  next.hub_url = hub_->text().trimmed().toStdString();
  message_->setStyleSheet({});
  message_->setText(tr("Saved."));
  // A refused change (the node's rules, a bad hub URL among them) says why and moves nothing.
  if (settings_->apply(next) && hub_->text().trimmed() != previous_hub) Q_EMIT hubUrlChanged(hub_->text().trimmed());
}

}  // namespace tessera::ui
