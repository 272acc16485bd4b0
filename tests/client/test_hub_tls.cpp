// Pinned runs over HTTPS (issue #18): a hub with a self-signed certificate bound to the run by the
// hub key; a node given the run link fetches the manifest, pins the certificate, joins and syncs
// statements over HTTPS; a link naming another publisher is refused with a clear message; a server
// with another certificate serving the same manifest and a forged or replayed binding is refused;
// plain HTTP to another machine is refused before any connection, and to loopback still works.
#include <QtTest>

#include <memory>
#include <thread>

#include <httplib.h>

#include "core/client/hub_client.h"
#include "core/client/statement_sync.h"
#include "core/hub/hub_service.h"
#include "core/hub/settlement_book.h"
#include "core/hub/tls_identity.h"
#include "core/ledger/ledger.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/run_paths.h"
#include "core/protocol/tls_binding.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "tests/support/local_http_server.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
namespace api = protocol::hub_api;

namespace {

// An HTTPS server on 127.0.0.1 standing in for a hub (mount routes, then start()).
struct ImpostorServer : test::BasicLocalServer<httplib::SSLServer> {
  explicit ImpostorServer(const hub::TlsIdentity& identity)
      : BasicLocalServer(identity.certificate(), identity.key()) {}
};

template <typename Call>
QString error_of(Call&& call) {
  try {
    call();
  } catch (const std::exception& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

}  // namespace

class TestHubTls : public QObject {
  Q_OBJECT

  wallet::KeyPair hub_key_ = wallet::KeyPair::generate();  // the publisher's too
  protocol::RunManifest manifest_;
  std::shared_ptr<const hub::TlsIdentity> identity_;
  std::unique_ptr<hub::HubService> hub_;

  protocol::RunLink link() const { return hub_->run_link(); }

 private Q_SLOTS:
  void initTestCase() {
    manifest_ = test::tiny_two_stage_manifest("tls-run");
    manifest_.price_per_1k_tokens = 1000;
    manifest_.hub_key = hub_key_.public_key();
    protocol::sign_manifest(manifest_, hub_key_);
    identity_ = hub::TlsIdentity::self_signed({"127.0.0.1"}, {});
    hub::HubOptions options;
    options.hub_key = &hub_key_;
    options.tls = identity_;
    hub_ = std::make_unique<hub::HubService>(manifest_, options);
    hub_->start();
    QVERIFY(hub_->url().rfind("https://127.0.0.1:", 0) == 0);
  }

  void cleanupTestCase() { hub_.reset(); }

  void theLinkFetchesJoinsAndSyncsOverHttps() {
    const auto text = link().to_string();
    QVERIFY(text.rfind("tessera://127.0.0.1:", 0) == 0);
    client::HubClient client(text);
    QCOMPARE(QString::fromStdString(client.url()), QString::fromStdString(hub_->url()));
    QCOMPARE(QString::fromStdString(client.manifest().run_id), QStringLiteral("tls-run"));
    const auto pinned = client.endpoint()->pinned();
    QVERIFY(pinned && *pinned == identity_->fingerprint());

    const auto owner = wallet::KeyPair::generate();
    const auto node = wallet::KeyPair::generate();
    const protocol::JoinRequest request{
        wallet::sign_delegation(owner, node.public_key(), manifest_.run_id, 4102444800), "tcp://127.0.0.1:1",
        {"cpu", 1ull << 34, 0}};
    const int stage = client.join(node, request);
    QVERIFY(stage == 0 || stage == 1);
    QCOMPARE(client.peers(node).size(), std::size_t(1));

    const auto address = wallet::base58_encode(owner.public_key());
    hub_->settlement()->credit_work(address, 2e6);
    hub_->close_epoch();
    QTemporaryDir dir;
    ledger::LedgerWriter writer(std::filesystem::path(dir.path().toStdString()) / "contributions.db", node);
    client::StatementSync sync(client.endpoint(), manifest_.run_id, manifest_.hub_key, address, writer);
    const auto check = sync.poll();
    QVERIFY2(check.outcome == client::StatementCheck::Outcome::Verified, qPrintable(QString::fromStdString(check.message)));
    QVERIFY(sync.last_verified_epoch() >= 1);
    client.leave(node);
  }

  // A fresh StatementSync on its own endpoint pins the certificate itself.
  void statementsAloneAlsoPin() {
    client::StatementFetcher fetcher(link().to_string(), manifest_.run_id, manifest_.hub_key);
    const auto latest = fetcher.latest_epoch();
    QVERIFY2(latest.outcome == client::StatementCheck::Outcome::Verified, qPrintable(QString::fromStdString(latest.message)));
  }

  // The test: the hub at the link's address answers with another publisher's manifest.
  void aLinkNamingAnotherPublisherIsRefused() {
    auto other = link();
    other.publisher = wallet::KeyPair::generate().public_key();
    client::HubClient client(other.to_string());
    const auto message = error_of([&] { client.manifest(); });
    QVERIFY2(message.contains(QStringLiteral("serves run tls-run published by ") +
                              QString::fromStdString(wallet::base58_encode(hub_key_.public_key())) +
                              ", not the run this link names"),
             qPrintable(message));
    QVERIFY(message.contains(QString::fromStdString(wallet::base58_encode(other.publisher))));
    QVERIFY(message.contains("refusing it"));
    QVERIFY(!client.endpoint()->trusted());
    const auto node = wallet::KeyPair::generate();
    QVERIFY(error_of([&] { client.peers(node); }).contains("not the run this link names"));

    auto renamed = link();
    renamed.run_id = "another-run";
    QVERIFY(error_of([&] { client::HubClient(renamed.to_string()).manifest(); }).contains("not the run this link names"));
    // The watch-only view says so too, and checks nothing.
    const auto report = client::watch_owners(other.to_string(), {"someone"});
    QVERIFY(report.owners.empty());
    QVERIFY(QString::fromStdString(report.error).contains("not the run this link names"));
  }

  // Another certificate serving the real manifest: its binding is forged (another key signs it)
  // or replayed (the real hub's binding names the real certificate): both refused.
  void anotherCertificateWithAForgedBindingIsRefused() {
    const auto impostor_identity = hub::TlsIdentity::self_signed({"127.0.0.1"}, {});
    QVERIFY(impostor_identity->fingerprint() != identity_->fingerprint());
    const auto forger = wallet::KeyPair::generate();
    for (const bool replay : {false, true}) {
      ImpostorServer impostor(*impostor_identity);
      const auto manifest_text = protocol::to_json(manifest_).dump();
      // A hub serving the link's run answers under /runs/<run> (docs/hub.md, "Several runs").
      const auto at = protocol::run_path_prefix(manifest_.run_id);
      impostor.server.Get(at + api::kManifest, [&](const httplib::Request&, httplib::Response& response) {
        response.set_content(manifest_text, "application/json");
      });
      const auto binding = replay ? protocol::sign_tls_binding(manifest_.run_id, identity_->fingerprint(), hub_key_)
                                  : protocol::sign_tls_binding(manifest_.run_id, impostor_identity->fingerprint(), forger);
      const auto binding_text = protocol::to_json(binding).dump();
      impostor.server.Get(at + api::kTls, [&](const httplib::Request&, httplib::Response& response) {
        response.set_content(binding_text, "application/json");
      });
      bool other_path_asked = false;
      impostor.server.Get(at + api::kPeers, [&](const httplib::Request&, httplib::Response& response) {
        other_path_asked = true;
        response.set_content("{}", "application/json");
      });
      impostor.start();
      auto impostor_link = link();
      impostor_link.port = impostor.port;
      client::HubClient client(impostor_link.to_string());
      const auto message = error_of([&] { client.manifest(); });
      QVERIFY2(message.contains("refusing the hub at https://127.0.0.1:" + QString::number(impostor.port)), qPrintable(message));
      QVERIFY2(message.contains(replay ? "binds another certificate" : "not signed by the run's hub key"), qPrintable(message));
      const auto node = wallet::KeyPair::generate();
      QVERIFY(!error_of([&] { client.peers(node); }).isEmpty());
      QVERIFY(!other_path_asked);  // nothing but the manifest and the binding before the pin
    }
  }

  // After the pin, the hub's address presenting another certificate is refused.
  void aPinnedRunRefusesAnotherCertificateLater() {
    hub::HubOptions options;
    options.hub_key = &hub_key_;
    options.tls = identity_;
    auto pinned_hub = std::make_unique<hub::HubService>(manifest_, options);
    pinned_hub->start();
    const int port = pinned_hub->port();
    client::HubClient client(pinned_hub->run_link().to_string());
    QVERIFY(client.receipt_summary().is_object());  // pins, then asks
    QVERIFY(client.endpoint()->pinned() && *client.endpoint()->pinned() == identity_->fingerprint());
    pinned_hub.reset();

    ImpostorServer impostor(*hub::TlsIdentity::self_signed({"127.0.0.1"}, {}));
    bool asked = false;
    impostor.server.Get(protocol::run_path_prefix(manifest_.run_id) + api::kReceiptSummary, [&](const httplib::Request&, httplib::Response& response) {
      asked = true;
      response.set_content("{}", "application/json");
    });
    QVERIFY(impostor.server.bind_to_port("127.0.0.1", port));  // the same address, another certificate
    impostor.port = port;
    impostor.thread = std::thread([&] { impostor.server.listen_after_bind(); });
    while (!impostor.server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto message = error_of([&] { client.receipt_summary(); });
    QVERIFY2(message.contains("is not the one pinned for this run (" +
                              QString::fromStdString(wallet::to_hex(identity_->fingerprint())) + ")"),
             qPrintable(message));
    QVERIFY(!asked);
  }

  void plainHttpToAnotherMachineIsRefusedWithoutConnecting() {
    const auto message = error_of([] { client::HubClient("http://192.0.2.1:8800"); });
    QCOMPARE(message, QStringLiteral("refusing plain HTTP to 192.0.2.1: ask for the run's tessera:// link or an https:// URL"));
    QVERIFY(error_of([] { client::StatementFetcher("http://hub.example:80", "r", {}); }).startsWith("refusing plain HTTP"));
    QVERIFY(error_of([] { client::HubClient("ftp://127.0.0.1:21"); }).contains("not a hub address"));
    QVERIFY(error_of([] { client::HubClient("tessera://127.0.0.1:1/r#x"); }).contains("publisher key"));
  }

  void addressForms() {
    QCOMPARE(QString::fromStdString(client::HubEndpoint("https://[::1]").url()), QStringLiteral("https://[::1]:443"));
    QCOMPARE(QString::fromStdString(client::HubEndpoint("https://hub.example/").url()), QStringLiteral("https://hub.example:443"));
    QCOMPARE(QString::fromStdString(client::HubEndpoint("http://[::1]:8800").url()), QStringLiteral("http://[::1]:8800"));
    QVERIFY(client::HubEndpoint("http://localhost:8800").trusted());
    QVERIFY(!client::HubEndpoint("https://127.0.0.1:8800").trusted());
    QVERIFY(client::HubEndpoint("https://hub.example:8800").link() == std::nullopt);
    QVERIFY(error_of([] { client::HubEndpoint("https://hub.example:8800/api"); }).contains("only the host and port"));
    QVERIFY(error_of([] { client::HubEndpoint("https://hub.example:99999"); }).contains("port"));
    QVERIFY(error_of([] { client::HubEndpoint("https://user@hub.example"); }).contains("host"));
    QVERIFY(error_of([] { client::HubEndpoint("http://[::1"); }).contains("']'"));
  }

  void plainHttpToLoopbackStillWorks() {
    hub::HubService plain(manifest_, hub::HubOptions{});
    plain.start();
    QVERIFY(plain.url().rfind("http://127.0.0.1:", 0) == 0);
    client::HubClient client(plain.url());
    QVERIFY(client.endpoint()->trusted());
    QCOMPARE(QString::fromStdString(client.manifest().run_id), QStringLiteral("tls-run"));
    QVERIFY(client.receipt_summary().is_object());
    plain.stop();
  }

  // Without a hub key the hub serves HTTPS but no binding: GET /api/tls answers 404, and a node
  // cannot pin its self-signed certificate.
  void withoutAHubKeyThereIsNoBinding() {
    hub::HubOptions options;
    options.tls = identity_;
    hub::HubService keyless(manifest_, options);
    keyless.start();
    const auto message = error_of([&] { client::HubClient(keyless.run_link().to_string()).manifest(); });
    QVERIFY2(message.contains("does not bind it to the run") && message.contains("HTTP 404"), qPrintable(message));
    keyless.stop();
  }
};

QTEST_APPLESS_MAIN(TestHubTls)
#include "test_hub_tls.moc"
