// Contribution log: the work, receipts, statements and events tables (paged, newest first),
// Verify (the log check, on the worker) and Export CSV.
#pragma once

#include <QWidget>

#include "ui/ledger_service.h"

class QComboBox;
class QLabel;
class QPushButton;
class QTableView;
class QVBoxLayout;

namespace tessera::ui {

class LogTableModel;

class LogPage : public QWidget {
  Q_OBJECT

 public:
  static constexpr qint64 kPageSize = 100;
  LogPage(LedgerService* ledger, QString node_key_file, QWidget* parent = nullptr);

  LogTableModel* model() const { return model_; }
  void setTable(ledger::Table table);
  void reload();
  void verify();
  QString verifyText() const;

 Q_SIGNALS:
  void pageShown();
  void verifyFinished(bool intact);

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  // Construction steps, in the order the constructor takes them.
  void buildToolbar(QVBoxLayout* layout);
  void buildTable(QVBoxLayout* layout);
  void buildPager(QVBoxLayout* layout);
  void connectLedger();

  void onPage(const PageSnapshot& page);
  void exportCsv();

  LedgerService* ledger_;
  QString node_key_file_;
  LogTableModel* model_ = nullptr;
  QComboBox* table_choice_ = nullptr;
  QTableView* view_ = nullptr;
  QLabel* range_ = nullptr;
  QPushButton* previous_ = nullptr;
  QPushButton* next_ = nullptr;
  QPushButton* verify_ = nullptr;
  QLabel* verify_result_ = nullptr;
  QLabel* empty_ = nullptr;
  qint64 offset_ = 0;
  ledger::Table table_ = ledger::Table::Work;
};

}  // namespace tessera::ui
