// Watch-only addresses: follow any address's verified ownership and revenue from the hub's
// statements without holding its keys. WatchModel is the list (address, label) persisted in the
// app's settings, with each address's last verified figures; WatchService checks them on a worker
// thread (core/client/statement_sync.h: the run manifest from the hub names the hub key, each
// statement's signature and each address's Merkle proof are checked against it), every few minutes
// and sooner after a failure, and never shows a number that did not verify. Besides the balances,
// each address's verified leaf says what its nodes' work came to in that epoch: receipts the hub
// rejected, spot checks passed and failed.
#pragma once

#include <QAbstractTableModel>
#include <QDateTime>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QThread>
#include <QTimer>
#include <QVector>

#include <vector>

namespace tessera::ui {

// One address's outcome in one check, as plain data for the GUI thread.
struct WatchCheck {
  enum class State {
    Pending,      // not checked yet
    Verified,     // the latest statement and this address's proof verify
    NotAnOwner,   // the latest statement verifies nobody with this address
    NoStatement,  // the hub has not settled an epoch yet
    Unverified,   // the hub's statement or proof does not verify: nothing is shown as earned
    Unreachable,  // the hub did not answer
    NoHub         // no public hub configured (local network)
  };
  QString address;
  State state = State::Pending;
  QString message;
  QString run;
  QString currency;
  quint64 units = 0;      // cumulative ownership units (one unit = one verified MFLOP)
  quint64 run_units = 0;  // all units of the run
  quint64 revenue = 0;    // cumulative verified revenue, micro-units
  qint64 epoch = -1;      // of the statement these figures come from
  // In that epoch, from the same verified leaf (0 from hubs whose statements carry none).
  quint64 epoch_rejected = 0;       // receipts the hub rejected
  quint64 epoch_checks_passed = 0;  // spot checks of its work that passed
  quint64 epoch_checks_failed = 0;  // and that failed
  quint64 data_units = 0;  // of `units`, credited for its data shards (statement version 3)
};

struct WatchSnapshot {
  QString hub_url;
  QDateTime checked_at;
  QVector<WatchCheck> checks;
};

class WatchModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    Label, Address, Run, Units, Share, Revenue, Epoch, Rejected, Checks, LastChecked, Status,
    ColumnCount  // Checks: "12 ✓ 0 ✗", spot checks passed and failed (narrow: the table is wide already)
  };
  struct Entry {
    QString address;
    QString label;
    WatchCheck last;            // the figures of the last verified check (state Verified) or the last outcome
    QDateTime last_checked;     // when the hub last answered about this address
    QDateTime last_attempt;     // when it was last tried
    QString error;              // why the last attempt failed (hub unreachable), empty after a success
  };

  // `settings_file`: where the list is kept (an INI file); empty: the app's QSettings.
  explicit WatchModel(QString settings_file = {}, QObject* parent = nullptr);

  // Empty when `text` is a Solana address (base58 of a 32-byte key); otherwise why not, in words.
  static QString validateAddress(const QString& text);
  // Adds (and saves) an address; false with `error` for an invalid or already watched one.
  bool add(const QString& address, const QString& label, QString* error = nullptr);
  void remove(int row);
  void setLabel(int row, const QString& label);
  QStringList addresses() const;
  const std::vector<Entry>& entries() const { return entries_; }
  void setHidden(bool hidden);  // "hide balances"
  // Merges a check's outcome: verified figures replace the old ones; an unreachable hub keeps
  // them (they were verified) and records when it was tried; anything that did not verify clears them.
  void applySnapshot(const WatchSnapshot& snapshot);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 Q_SIGNALS:
  void addressesChanged();

 private:
  void load();
  void save() const;
  QString statusText(const Entry& entry) const;

  QString settings_file_;
  std::vector<Entry> entries_;
  bool hidden_ = false;
};

class WatchWorker : public QObject {
  Q_OBJECT

 public:
  void check(const QString& hub_url, const QStringList& addresses, int timeout_ms);

 Q_SIGNALS:
  void checked(const tessera::ui::WatchSnapshot& snapshot);
};

class WatchService : public QObject {
  Q_OBJECT

 public:
  static constexpr int kDefaultIntervalMs = 5 * 60'000;
  static constexpr int kDefaultRetryMs = 30'000;

  explicit WatchService(QString settings_file = {}, QObject* parent = nullptr);
  ~WatchService() override;

  WatchModel* model() const { return model_; }
  QString hubUrl() const { return hub_url_; }
  // Empty: the local network (nothing public to watch). Checks again at once.
  void setHubUrl(const QString& url);
  // How often to check, and how soon to retry after a failure (tests shorten both).
  void setIntervals(int interval_ms, int retry_ms, int request_timeout_ms = 5000);
  void refresh();  // checks now (a check already running is followed by another)
  // Shows `snapshot` as if the hub had answered it (the screenshots' sample data).
  void showSample(const WatchSnapshot& snapshot);
  bool isChecking() const { return running_; }
  QDateTime nextCheck() const { return next_check_; }

 Q_SIGNALS:
  void checked(const tessera::ui::WatchSnapshot& snapshot);

 private:
  void schedule(bool failed);

  WatchModel* model_ = nullptr;
  QThread thread_;
  WatchWorker* worker_ = nullptr;
  QTimer timer_;
  QString hub_url_;
  int interval_ms_ = kDefaultIntervalMs;
  int retry_ms_ = kDefaultRetryMs;
  int timeout_ms_ = 5000;
  bool running_ = false;
  bool again_ = false;
  bool configured_ = false;
  QDateTime next_check_;
};

}  // namespace tessera::ui

Q_DECLARE_METATYPE(tessera::ui::WatchSnapshot)
