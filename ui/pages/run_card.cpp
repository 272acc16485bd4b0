// A run's card on the Runs page (see run_card.h).
#include "ui/pages/run_card.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QStringList>

#include "ui/pages/page_helpers.h"

namespace tessera::ui {

namespace {

// A small caption over a value, one cell of a card's grid; `name` names the value label.
void addStat(QGridLayout* grid, int row, int column, const QString& caption, const QString& value, const QString& name) {
  auto* cell = new QWidget(grid->parentWidget());
  auto* layout = new QVBoxLayout(cell);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(1);
  auto* label = makeMuted(caption, cell);
  auto* shown = new QLabel(value, cell);
  shown->setObjectName(name);
  shown->setProperty("statValue", true);
  shown->setTextInteractionFlags(Qt::TextSelectableByMouse);
  shown->setWordWrap(true);  // a narrow window wraps a value rather than scrolling the page sideways
  label->setWordWrap(true);
  layout->addWidget(label);
  layout->addWidget(shown);
  grid->addWidget(cell, row, column, Qt::AlignTop);
}

// The card's figures share one grid (catalog row, heading, fit row) so their columns line up;
// the wider figures (model, memory; peers per stage, tokens/s) get the wider columns.
constexpr int kColumns = 5;
constexpr int kColumnStretch[kColumns] = {5, 3, 5, 4, 4};

QLabel* makeBadge(const QString& text, const QString& name, QWidget* parent) {
  auto* badge = new QLabel(text, parent);
  badge->setObjectName(name);
  return badge;
}

QString perStage(const std::vector<std::uint64_t>& counts) {
  QStringList parts;
  for (const auto count : counts) parts << QLocale().toString(static_cast<qulonglong>(count));
  return parts.join(QStringLiteral(" · "));
}

// Micro-units to "4.10 USDC" (two decimals: a day's estimate, not an amount owed).
QString formatMicro(double micro, const std::string& currency) {
  return QStringLiteral("%1 %2").arg(QLocale().toString(micro / 1e6, 'f', 2), QString::fromStdString(currency));
}

// A price in micro-units with two decimals, or as many more as it needs: 0.10, 0.02, 0.000125.
QString formatPrice(std::uint64_t micro, const std::string& currency) {
  static constexpr std::uint64_t kScale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  int decimals = 2;
  while (decimals < 6 && micro % kScale[6 - decimals] != 0) ++decimals;
  return QStringLiteral("%1 %2").arg(QLocale().toString(static_cast<double>(micro) / 1e6, 'f', decimals),
                                     QString::fromStdString(currency));
}

// 420, 6.9 k, 124 M, 1.3 B, 1.9 T.
QString formatCount(double count) {
  static const char* const suffixes[] = {"", " k", " M", " B", " T"};
  int suffix = 0;
  while (count >= 1000.0 && suffix < 4) {
    count /= 1000.0;
    ++suffix;
  }
  return QLocale().toString(count, 'f', suffix == 0 || count >= 100 ? 0 : 1) + QString::fromLatin1(suffixes[suffix]);
}

QString formatBytes(std::uint64_t bytes) {
  const double gib = static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
  if (gib >= 1.0) return QObject::tr("%1 GiB").arg(QLocale().toString(gib, 'f', 1));
  return QObject::tr("%1 MiB").arg(QLocale().toString(static_cast<double>(bytes) / (1024.0 * 1024.0), 'f', 0));
}

}  // namespace

RunCard::RunCard(const RunEntry& entry, const std::optional<std::string>& current, QWidget* parent)
    : QFrame(parent), run_(QString::fromStdString(entry.run)), current_(current && *current == entry.run),
      catalog_(entry.catalog), fit_(entry.fit) {
  setObjectName(QStringLiteral("card"));
  setProperty("run", run_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(16, 14, 16, 14);
  layout->setSpacing(10);
  buildHeader(layout, entry, current.has_value() && !current_);
  auto* grid = new QGridLayout;
  grid->setHorizontalSpacing(20);
  grid->setVerticalSpacing(10);
  for (int column = 0; column < kColumns; ++column) grid->setColumnStretch(column, kColumnStretch[column]);
  layout->addLayout(grid);
  if (catalog_) buildCatalog(grid, *catalog_);
  buildFit(grid, entry);
  auto* link = makeMuted(QString::fromStdString(entry.link), this);
  link->setObjectName(QStringLiteral("runLinkText"));
  link->setTextInteractionFlags(Qt::TextSelectableByMouse);
  link->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // a long link is cut, not the card widened
  link->setToolTip(link->text());
  layout->addWidget(link);
}

bool RunCard::canJoin() const { return catalog_ && !catalog_->retired && fit_ && fit_->fits; }

QString RunCard::whyNotJoinable(const RunEntry& entry) const {
  if (catalog_ && catalog_->retired) return tr("This run is retired: its hub takes no new contributors.");
  if (fit_ && !fit_->why.empty()) return QString::fromStdString(fit_->why);
  if (!entry.error.empty()) return QString::fromStdString(entry.error);
  return tr("No estimate for this computer yet: the node has not heard from the run's hub.");
}

void RunCard::buildHeader(QVBoxLayout* layout, const RunEntry& entry, bool another_current) {
  auto* header = new QHBoxLayout;
  header->setSpacing(10);
  auto* title = new QLabel(run_, this);
  title->setObjectName(QStringLiteral("sectionTitle"));
  header->addWidget(title);
  if (current_)
    header->addWidget(makeBadge(tr("Current"), QStringLiteral("badgeCurrent"), this));
  else if (catalog_ && catalog_->retired)
    header->addWidget(makeBadge(tr("Retired"), QStringLiteral("badgeNoFit"), this));
  else if (fit_)
    header->addWidget(fit_->fits ? makeBadge(tr("Fits this computer"), QStringLiteral("badgeFits"), this)
                                 : makeBadge(tr("Does not fit"), QStringLiteral("badgeNoFit"), this));
  header->addStretch(1);
  if (!current_) {
    remove_ = addButton(tr("Remove"), QStringLiteral("removeButton"), RunAction::Remove);
    header->addWidget(remove_);
  }
  if (current_)
    action_ = addButton(tr("Leave"), QStringLiteral("leaveButton"), RunAction::Leave);
  else if (another_current)
    action_ = addButton(tr("Switch to this run"), QStringLiteral("switchButton"), RunAction::Switch);
  else
    action_ = addButton(tr("Join"), QStringLiteral("joinButton"), RunAction::Join);
  if (!current_ && !canJoin()) action_->setToolTip(whyNotJoinable(entry));
  header->addWidget(action_);
  layout->addLayout(header);
  setBusy(false);
}

QPushButton* RunCard::addButton(const QString& text, const QString& name, RunAction action) {
  auto* button = new QPushButton(text, this);
  button->setObjectName(name);
  if (action == RunAction::Join || action == RunAction::Switch) button->setProperty("primaryAction", true);
  connect(button, &QPushButton::clicked, this, [this, action] { Q_EMIT actionRequested(action, run_); });
  return button;
}

void RunCard::buildCatalog(QGridLayout* grid, const RunCatalogInfo& catalog) {
  addStat(grid, 0, 0, tr("Model"), tr("%1 layers × %2 wide").arg(catalog.layers).arg(catalog.width),
          QStringLiteral("modelValue"));
  addStat(grid, 0, 1, tr("Parameters"), formatCount(static_cast<double>(catalog.parameters)),
          QStringLiteral("parametersValue"));
  addStat(grid, 0, 2, tr("Peers per stage (%1 stages)").arg(catalog.stages), perStage(catalog.peers_per_stage),
          QStringLiteral("peersValue"));
  if (catalog.loss)
    addStat(grid, 0, 3, tr("Loss after %1 steps").arg(QLocale().toString(static_cast<qulonglong>(catalog.steps))),
            QLocale().toString(*catalog.loss, 'f', 3), QStringLiteral("lossValue"));
  else
    addStat(grid, 0, 3, tr("Recent loss"), tr("no steps yet"), QStringLiteral("lossValue"));
  addStat(grid, 0, 4, tr("Price per 1,000 tokens"), formatPrice(catalog.price_per_1k_tokens, catalog.currency),
          QStringLiteral("priceValue"));
}

void RunCard::buildFit(QGridLayout* grid, const RunEntry& entry) {
  if (!fit_) {
    auto* why = new QLabel(entry.error.empty() ? tr("No estimate for this computer yet.")
                                               : tr("No estimate: %1").arg(QString::fromStdString(entry.error)),
                           this);
    why->setObjectName(QStringLiteral("fitReason"));
    why->setWordWrap(true);
    grid->addWidget(why, 1, 0, 1, kColumns);
    return;
  }
  auto* heading = new QLabel(tr("On this computer (estimates)"), this);
  heading->setObjectName(QStringLiteral("fitHeading"));
  heading->setToolTip(QString::fromStdString(fit_->basis));
  grid->addWidget(heading, 1, 0, 1, kColumns);
  const std::string currency = !fit_->currency.empty() ? fit_->currency : catalog_ ? catalog_->currency : std::string();
  const int stages = fit_->stages > 0 ? fit_->stages : catalog_ ? catalog_->stages : 0;
  const QString of = fit_->memory_of.empty() ? QString() : tr(" (%1)").arg(QString::fromStdString(fit_->memory_of));
  addStat(grid, 2, 0, tr("Memory needed%1").arg(of),
          tr("%1 of %2").arg(formatBytes(fit_->memory_needed_bytes), formatBytes(fit_->memory_available_bytes)),
          QStringLiteral("memoryValue"));
  if (fit_->fits) {
    const QString stage = fit_->stage ? tr("%1 of %2").arg(*fit_->stage + 1).arg(stages) : tr("any");
    addStat(grid, 2, 1, tr("Stage"), stage, QStringLiteral("stageValue"));
    addStat(grid, 2, 2, tr("Tokens/s (estimate)"),
            fit_->tokens_per_s ? formatCount(*fit_->tokens_per_s) : tr("not measured yet"), QStringLiteral("tokensValue"));
    addStat(grid, 2, 3, tr("Units/day (estimate)"), formatCount(fit_->units_per_day), QStringLiteral("unitsValue"));
    addStat(grid, 2, 4, tr("Revenue/day (estimate)"), formatMicro(fit_->revenue_per_day, currency),
            QStringLiteral("revenueValue"));
    return;
  }
  auto* cell = new QWidget(this);
  auto* cell_layout = new QVBoxLayout(cell);
  cell_layout->setContentsMargins(0, 0, 0, 0);
  cell_layout->setSpacing(1);
  auto* why = new QLabel(QString::fromStdString(fit_->why), cell);
  why->setObjectName(QStringLiteral("fitReason"));
  why->setWordWrap(true);
  cell_layout->addWidget(makeMuted(tr("Why it does not fit"), cell));
  cell_layout->addWidget(why);
  grid->addWidget(cell, 2, 1, 1, kColumns - 1, Qt::AlignTop);
}

void RunCard::setBusy(bool busy) {
  if (action_ != nullptr) action_->setEnabled(!busy && (current_ || canJoin()));
  if (remove_ != nullptr) remove_->setEnabled(!busy);
}

}  // namespace tessera::ui
