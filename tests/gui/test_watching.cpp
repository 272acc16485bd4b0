// Watch-only addresses against a real hub: a HubService with its hub key on 127.0.0.1 settles two
// epochs; the app's WatchService follows three addresses (two owners, one not) and shows exactly
// the statement's figures; a hub whose statements are signed with another key than its manifest
// names, and a proof altered on the way, are rejected and shown as unverified with nothing earned;
// an unreachable hub keeps the last verified figures, says so with the time, and keeps retrying;
// no hub configured says so. The list persists (add, label, remove), invalid addresses are refused
// in words, and the Wallet page's Watching section adds and removes addresses.
#include <QtTest>

#include <QAbstractItemModelTester>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QTemporaryDir>

#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/hub/hub_service.h"
#include "core/protocol/manifest.h"
#include "core/wallet/slip10.h"
#include "ui/pages/wallet_page.h"
#include "ui/wallet_service.h"
#include "tests/support/tiny_manifest.h"
#include "ui/watch_service.h"

using namespace tessera;
using ui::WatchCheck;
using ui::WatchModel;
using ui::WatchService;

namespace {

protocol::RunManifest manifest_for(const wallet::KeyPair& publisher, const wallet::PublicKey& hub_key) {
  auto manifest = test::tiny_two_stage_manifest("watch-run");
  manifest.epoch_seconds = 3600;  // epochs are closed by the test
  manifest.price_per_1k_tokens = 2000;
  manifest.currency = "USDC";
  manifest.hub_key = hub_key;
  protocol::sign_manifest(manifest, publisher);
  return manifest;
}

std::string address_of(const wallet::KeyPair& key) { return wallet::address_of(key.public_key()); }

// A hub front on 127.0.0.1 that serves its own manifest and relays the statement endpoints to a
// real hub, optionally altering each proof's units: what a dishonest or compromised hub could do.
struct RelayHub {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  RelayHub(const protocol::RunManifest& manifest, std::string upstream, bool alter_proofs) {
    const auto manifest_text = protocol::to_json(manifest).dump();
    server.Get("/api/manifest", [manifest_text](const httplib::Request&, httplib::Response& response) {
      response.set_content(manifest_text, "application/json");
    });
    server.Get(R"(/api/statements/.*)", [upstream, alter_proofs](const httplib::Request& request,
                                                                  httplib::Response& response) {
      httplib::Client client(upstream);
      client.set_connection_timeout(std::chrono::seconds(5));
      client.set_read_timeout(std::chrono::seconds(5));
      const auto result = client.Get(request.path);
      if (!result) {
        response.status = 502;
        return;
      }
      auto body = result->body;
      if (alter_proofs && result->status == 200 && request.path.find("/proof/") != std::string::npos) {
        auto json = nlohmann::json::parse(body);
        json["units"] = json["units"].get<std::uint64_t>() * 2;
        body = json.dump();
      }
      response.status = result->status;
      response.set_content(body, "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  QString url() const { return QStringLiteral("http://127.0.0.1:%1").arg(port); }
  ~RelayHub() {
    server.stop();
    if (thread.joinable()) thread.join();
  }
};

const WatchModel::Entry& entry_of(const WatchModel& model, const std::string& address) {
  for (const auto& entry : model.entries())
    if (entry.address == QString::fromStdString(address)) return entry;
  throw std::runtime_error("not watched: " + address);
}

}  // namespace

class TestWatching : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair hub_key_ = wallet::KeyPair::generate();
  wallet::KeyPair alice_ = wallet::KeyPair::generate();
  wallet::KeyPair bob_ = wallet::KeyPair::generate();
  wallet::KeyPair carol_ = wallet::KeyPair::generate();  // owns nothing
  std::unique_ptr<hub::HubService> hub_;

  QString settingsFile(const char* name) const { return dir_.filePath(QString::fromLatin1(name)); }

  // Waits for the next check of `service` and returns it.
  static ui::WatchSnapshot nextCheck(WatchService& service, bool refresh = true) {
    QSignalSpy checked(&service, &WatchService::checked);
    if (refresh) service.refresh();
    if (!checked.wait(20000)) throw std::runtime_error("no check within 20 s");
    return checked.takeLast().at(0).value<ui::WatchSnapshot>();
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    hub::HubOptions options;
    options.hub_key = &hub_key_;
    hub_ = std::make_unique<hub::HubService>(manifest_for(publisher_, hub_key_.public_key()), options);
    hub_->start();
    auto* book = hub_->settlement();
    QVERIFY(book != nullptr);
    book->credit_work(address_of(alice_), 3e9);
    book->credit_work(address_of(bob_), 1e9);
    QCOMPARE(hub_->close_epoch(), std::uint64_t(1));
    book->credit_paid(1237, 2474);  // debits of epoch 2 (1,237 tokens at 2,000 per 1k), split by epoch 1's shares
    book->credit_work(address_of(bob_), 2e9);
    QCOMPARE(hub_->close_epoch(), std::uint64_t(2));
  }
  void cleanupTestCase() { hub_.reset(); }

  void followsVerifiedFigures() {
    WatchService service(settingsFile("follow.ini"));
    QAbstractItemModelTester tester(service.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QVERIFY(service.model()->add(QString::fromStdString(address_of(alice_)), QStringLiteral("Alice")));
    QVERIFY(service.model()->add(QString::fromStdString(address_of(bob_)), QStringLiteral("Bob")));
    QVERIFY(service.model()->add(QString::fromStdString(address_of(carol_)), {}));
    service.setHubUrl(QString::fromStdString(hub_->url()));
    const auto snapshot = nextCheck(service, false);
    QCOMPARE(snapshot.checks.size(), 3);

    const auto published = hub_->settlement()->latest();
    const auto& statement = published->statement();
    for (const auto* owner : {&alice_, &bob_}) {
      const auto proof = published->proof_for(address_of(*owner));
      QVERIFY(proof.has_value());
      const auto& entry = entry_of(*service.model(), address_of(*owner));
      QVERIFY2(entry.last.state == WatchCheck::State::Verified, qPrintable(entry.last.message));
      QCOMPARE(entry.last.units, proof->leaf.units);
      QCOMPARE(entry.last.run_units, statement.total_units);
      QCOMPARE(entry.last.revenue, proof->leaf.revenue);
      QCOMPARE(entry.last.epoch, qint64{2});
      QCOMPARE(entry.last.run, QStringLiteral("watch-run"));
      QCOMPARE(entry.last.currency, QStringLiteral("USDC"));
      QVERIFY(entry.last_checked.isValid());
      QVERIFY(entry.error.isEmpty());
    }
    // The figures the statement implies: 3,000 and 3,000 of 6,000 units; 2,474 micro-units split 3:1.
    QCOMPARE(entry_of(*service.model(), address_of(alice_)).last.units, quint64{3000});
    QCOMPARE(statement.total_units, std::uint64_t{6000});
    QCOMPARE(entry_of(*service.model(), address_of(alice_)).last.revenue +
                 entry_of(*service.model(), address_of(bob_)).last.revenue,
             quint64{2474});
    QVERIFY(entry_of(*service.model(), address_of(carol_)).last.state == WatchCheck::State::NotAnOwner);

    // What the table shows for Alice: share 50 %, the revenue, epoch 2, status Verified.
    auto* model = service.model();
    const int row = 0;
    QCOMPARE(model->index(row, WatchModel::Label).data().toString(), QStringLiteral("Alice"));
    QCOMPARE(model->index(row, WatchModel::Share).data().toString(), QStringLiteral("50.0000 %"));
    QVERIFY(model->index(row, WatchModel::Revenue).data().toString().contains(QStringLiteral("USDC")));
    QCOMPARE(model->index(row, WatchModel::Epoch).data().toLongLong(), 2LL);
    QCOMPARE(model->index(row, WatchModel::Status).data().toString(), QStringLiteral("Verified"));
    const auto alice_leaf = published->proof_for(address_of(alice_))->leaf;  // this hub's leaves: none yet
    QCOMPARE(model->index(row, WatchModel::Rejected).data().toString(), QString::number(alice_leaf.rejected_receipts));
    QCOMPARE(model->index(row, WatchModel::Checks).data().toString(),
             QStringLiteral("%1 ✓ %2 ✗").arg(alice_leaf.checks_passed).arg(alice_leaf.checks_failed));
    model->setHidden(true);
    QVERIFY(model->index(row, WatchModel::Revenue).data().toString().contains(QStringLiteral("•")));
    model->setHidden(false);

    // The hub goes away: the verified figures stay, the error says so with the time, and the
    // service retries on its own.
    service.setIntervals(60'000, 300, 2000);
    hub_->stop();
    const auto failed = nextCheck(service);
    QVERIFY(failed.checks.front().state == WatchCheck::State::Unreachable);
    const auto& alice = entry_of(*service.model(), address_of(alice_));
    QVERIFY(alice.last.state == WatchCheck::State::Verified);
    QCOMPARE(alice.last.units, quint64{3000});
    QVERIFY(!alice.error.isEmpty());
    const QString status = model->index(row, WatchModel::Status).data().toString();
    QVERIFY2(status.startsWith(QStringLiteral("Hub unreachable")) && status.contains(QStringLiteral("retrying")),
             qPrintable(status));
    const auto retried = nextCheck(service, false);  // nobody asked: the retry timer did
    QVERIFY(retried.checks.front().state == WatchCheck::State::Unreachable);

    // Back again (a restarted hub on another port serves the same run): verified again.
    hub::HubOptions options;
    options.hub_key = &hub_key_;
    hub_ = std::make_unique<hub::HubService>(manifest_for(publisher_, hub_key_.public_key()), options);
    hub_->start();
    hub_->settlement()->credit_work(address_of(alice_), 1e9);
    hub_->close_epoch();
    const auto url = QString::fromStdString(hub_->url());
    service.setHubUrl(url);
    for (int i = 0; i < 5 && nextCheck(service, false).hub_url != url; ++i) {
    }  // a retry of the old hub may still be on its way
    QCOMPARE(entry_of(*service.model(), address_of(alice_)).last.units, quint64{1000});
    QVERIFY(entry_of(*service.model(), address_of(alice_)).error.isEmpty());
  }

  void rejectsWhatDoesNotVerify() {
    // Statements signed with the real hub's key, relayed under a manifest that names another key.
    const auto other = wallet::KeyPair::generate();
    RelayHub wrong_key(manifest_for(publisher_, other.public_key()), hub_->url(), false);
    // The right manifest, but each proof's units doubled on the way.
    RelayHub altered(manifest_for(publisher_, hub_key_.public_key()), hub_->url(), true);
    for (const auto* relay : {&wrong_key, &altered}) {
      WatchService service(settingsFile(relay == &altered ? "altered.ini" : "wrong.ini"));
      QAbstractItemModelTester tester(service.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
      QVERIFY(service.model()->add(QString::fromStdString(address_of(alice_)), {}));
      service.setHubUrl(relay->url());
      nextCheck(service, false);
      const auto& entry = entry_of(*service.model(), address_of(alice_));
      QVERIFY2(entry.last.state == WatchCheck::State::Unverified, qPrintable(entry.last.message));
      QVERIFY2(entry.last.message.contains(relay == &altered ? QStringLiteral("Merkle proof")
                                                             : QStringLiteral("signature")),
               qPrintable(entry.last.message));
      auto* model = service.model();
      QCOMPARE(model->index(0, WatchModel::Units).data().toString(), QStringLiteral("—"));
      QCOMPARE(model->index(0, WatchModel::Revenue).data().toString(), QStringLiteral("—"));
      QVERIFY(model->index(0, WatchModel::Status).data().toString().startsWith(QStringLiteral("Unverified")));
    }
  }

  void showsEachEpochsWorkFromTheLeaf() {
    WatchModel model(settingsFile("leaf.ini"));
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const auto address = QString::fromStdString(address_of(alice_));
    QVERIFY(model.add(address, QStringLiteral("Alice")));
    QCOMPARE(model.index(0, WatchModel::Checks).data().toString(), QStringLiteral("—"));  // nothing verified yet
    ui::WatchSnapshot snapshot;
    snapshot.hub_url = QStringLiteral("http://hub");
    snapshot.checked_at = QDateTime::currentDateTime();
    WatchCheck check;
    check.address = address;
    check.state = WatchCheck::State::Verified;
    check.epoch = 9;
    check.epoch_rejected = 1200;
    check.epoch_checks_passed = 7;
    check.epoch_checks_failed = 1;
    snapshot.checks.push_back(check);
    model.applySnapshot(snapshot);
    QCOMPARE(model.index(0, WatchModel::Rejected).data().toString(), QLocale().toString(1200));
    QCOMPARE(model.index(0, WatchModel::Checks).data().toString(), QStringLiteral("7 ✓ 1 ✗"));
    const QString tip = model.index(0, WatchModel::Checks).data(Qt::ToolTipRole).toString();
    QVERIFY2(tip.contains(QStringLiteral("In epoch 9")) && tip.contains(QStringLiteral("7 passed, 1 failed")), qPrintable(tip));
    check.state = WatchCheck::State::Unverified;  // a statement that does not verify shows none of it
    snapshot.checks = {check};
    model.applySnapshot(snapshot);
    QCOMPARE(model.index(0, WatchModel::Rejected).data().toString(), QStringLiteral("—"));
  }

  void noHubSaysSo() {
    WatchService service(settingsFile("nohub.ini"));
    QVERIFY(service.model()->add(QString::fromStdString(address_of(alice_)), {}));
    QSignalSpy checked(&service, &WatchService::checked);
    service.setHubUrl({});
    QCOMPARE(checked.size(), 1);
    QVERIFY(service.model()->entries().front().last.state == WatchCheck::State::NoHub);
    QVERIFY(service.model()->index(0, WatchModel::Status).data().toString().contains(QStringLiteral("No hub configured")));
  }

  void listPersistsAndRefusesBadAddresses() {
    const QString file = settingsFile("persist.ini");
    const auto alice = QString::fromStdString(address_of(alice_));
    {
      WatchModel model(file);
      QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
      QString error;
      QVERIFY(!model.add(QStringLiteral("not-an-address"), {}, &error));
      QVERIFY2(error.contains(QStringLiteral("is not a Solana address")), qPrintable(error));
      QVERIFY(!model.add(alice.left(20), {}, &error));  // cut short
      QVERIFY(!model.add({}, {}, &error));
      QVERIFY(model.add(QLatin1Char(' ') + alice + QLatin1Char(' '), QStringLiteral("Alice"), &error));
      QVERIFY(!model.add(alice, {}, &error));
      QVERIFY2(error.contains(QStringLiteral("already")), qPrintable(error));
      QVERIFY(model.add(QString::fromStdString(address_of(bob_)), QStringLiteral("Bob")));
      QVERIFY(model.setData(model.index(1, WatchModel::Label), QStringLiteral("Robert")));
      QVERIFY(!model.setData(model.index(1, WatchModel::Units), QStringLiteral("9")));
    }
    {
      WatchModel model(file);
      QCOMPARE(model.rowCount(), 2);
      QCOMPARE(model.entries()[0].address, alice);
      QCOMPARE(model.entries()[1].label, QStringLiteral("Robert"));
      model.remove(0);
    }
    WatchModel model(file);
    QCOMPARE(model.addresses(), QStringList{QString::fromStdString(address_of(bob_))});
  }

  void walletPageAddsAndRemoves() {
    ui::WalletService wallet(dir_.filePath(QStringLiteral("page-wallet.json")),
                             wallet::KdfLimits::insecure_for_tests_only());
    WatchService watch(settingsFile("page.ini"));
    watch.setHubUrl({});
    ui::WalletPage page(&wallet, nullptr, &watch);
    page.show();
    QAbstractItemModelTester tester(page.watchModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    auto* address = page.findChild<QLineEdit*>(QStringLiteral("watchAddress"));
    auto* label = page.findChild<QLineEdit*>(QStringLiteral("watchLabel"));
    auto* add = page.findChild<QPushButton*>(QStringLiteral("watchAdd"));
    auto* remove = page.findChild<QPushButton*>(QStringLiteral("watchRemove"));
    auto* table = page.findChild<QTableView*>(QStringLiteral("watchTable"));
    QVERIFY(address && label && add && remove && table);

    address->setText(QStringLiteral("0OIl-not-base58"));
    QTest::mouseClick(add, Qt::LeftButton);
    QCOMPARE(page.watchModel()->rowCount(), 0);
    QVERIFY2(page.watchMessageText().contains(QStringLiteral("is not a Solana address")),
             qPrintable(page.watchMessageText()));
    QCOMPARE(address->text(), QStringLiteral("0OIl-not-base58"));  // kept, to correct it

    address->setText(QString::fromStdString(address_of(alice_)));
    label->setText(QStringLiteral("Alice"));
    QTest::mouseClick(add, Qt::LeftButton);
    QCOMPARE(page.watchModel()->rowCount(), 1);
    QVERIFY(address->text().isEmpty());
    QCOMPARE(page.watchModel()->index(0, WatchModel::Label).data().toString(), QStringLiteral("Alice"));
    // With no hub, the row says why nothing is shown.
    QVERIFY(page.watchModel()->index(0, WatchModel::Status).data().toString().contains(QStringLiteral("No hub")));

    QTest::mouseClick(remove, Qt::LeftButton);  // nothing selected: says what to do
    QCOMPARE(page.watchModel()->rowCount(), 1);
    QVERIFY(page.watchMessageText().contains(QStringLiteral("Select")));
    table->selectRow(0);
    QTest::mouseClick(remove, Qt::LeftButton);
    QCOMPARE(page.watchModel()->rowCount(), 0);
    QVERIFY(WatchModel(settingsFile("page.ini")).addresses().isEmpty());
  }
};

QTEST_MAIN(TestWatching)
#include "test_watching.moc"
