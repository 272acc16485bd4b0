// The node key (created once, mode 0600, the same key afterwards) and delegations: the owner's
// signature binds node key, owner, run and expiry; any change, another node, another run, expiry,
// or a signature made for another purpose is refused.
#include <QtTest>

#include <QTemporaryDir>

#include <sys/stat.h>

#include "core/wallet/delegation.h"
#include "core/wallet/errors.h"
#include "core/wallet/secure_file.h"
#include "core/wallet/slip10.h"
#include "wallet_test_util.h"

using namespace tessera::wallet;
using namespace wallet_test;
namespace fs = std::filesystem;

namespace {
constexpr std::int64_t kNow = 1'800'000'000;
}

class TestDelegation : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void nodeKeyIsCreatedOnceWithMode0600() {
    QTemporaryDir dir;
    const auto file = fs::path(dir.path().toStdString()) / kNodeKeyFileName;
    QVERIFY(!fs::exists(file));
    const auto first = load_or_create_node_key(file);
    QVERIFY(fs::exists(file));
    struct stat info {};
    QCOMPARE(::stat(file.c_str(), &info), 0);
    QCOMPARE(info.st_mode & 0777, 0600u);
    const auto second = load_or_create_node_key(file);
    QVERIFY(first.public_key() == second.public_key());
    {
      std::ofstream out(file, std::ios::trunc);
      out << "[1,2,3]";
    }
    QVERIFY_THROWS_EXCEPTION(InvalidKeypairFile, load_or_create_node_key(file));  // never silently replaced
  }

  void keyFilesAreCreatedAtomicallyNeverOverwritten() {
    // Two creators racing for one key file: the loser gets FileExists, the winner's file stays.
    QTemporaryDir dir;
    const auto file = fs::path(dir.path().toStdString()) / "key.json";
    const std::string first = "first", second = "second";
    write_file_atomic(file, as_bytes(first), {}, IfExists::Keep);
    QVERIFY_THROWS_EXCEPTION(FileExists, write_file_atomic(file, as_bytes(second), {}, IfExists::Keep));
    QCOMPARE(QString::fromStdString(read_file_text(file, 100)), QStringLiteral("first"));
    std::size_t leftovers = 0;
    for (const auto& entry : fs::directory_iterator(file.parent_path())) leftovers += entry.path() != file;
    QCOMPARE(leftovers, std::size_t(0));  // no temp file left behind
    write_file_atomic(file, as_bytes(second));  // Replace is the default
    QCOMPARE(QString::fromStdString(read_file_text(file, 100)), QStringLiteral("second"));
  }

  void validDelegationVerifies() {
    const auto owner = KeyPair::generate();
    const auto node = KeyPair::generate();
    const auto delegation = sign_delegation(owner, node.public_key(), "run-42", kNow + 3600);
    QCOMPARE(delegation.owner_address, address_of(owner.public_key()));
    QVERIFY(verify_delegation(delegation, node.public_key(), "run-42", kNow) == DelegationStatus::Valid);
    QVERIFY(verify_delegation(delegation, node.public_key(), "run-43", kNow) == DelegationStatus::WrongRun);
    QVERIFY(verify_delegation(delegation, KeyPair::generate().public_key(), "run-42", kNow) == DelegationStatus::WrongNode);
    QVERIFY(verify_delegation(delegation, node.public_key(), "run-42", kNow + 3600) == DelegationStatus::Expired);

    const auto any = sign_delegation(owner, node.public_key(), kAnyRun, kNow + 10);
    QVERIFY(verify_delegation(any, node.public_key(), "whatever-run", kNow) == DelegationStatus::Valid);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, sign_delegation(owner, node.public_key(), "", kNow));
  }

  void everyFieldIsSigned() {
    const auto owner = KeyPair::generate();
    const auto node = KeyPair::generate();
    const auto original = sign_delegation(owner, node.public_key(), "run-1", kNow + 100);
    {
      auto changed = original;
      changed.expires_at += 1;
      QVERIFY(verify_delegation(changed, node.public_key(), "run-1", kNow) == DelegationStatus::BadSignature);
    }
    {
      auto changed = original;
      changed.run_id = std::string(kAnyRun);
      QVERIFY(verify_delegation(changed, node.public_key(), "run-1", kNow) == DelegationStatus::BadSignature);
    }
    {
      const auto other = KeyPair::generate();
      auto changed = original;
      changed.node_key = other.public_key();
      QVERIFY(verify_delegation(changed, other.public_key(), "run-1", kNow) == DelegationStatus::BadSignature);
    }
    {
      auto changed = original;
      changed.owner_address = address_of(KeyPair::generate().public_key());
      QVERIFY(verify_delegation(changed, node.public_key(), "run-1", kNow) == DelegationStatus::BadSignature);
    }
    {
      auto changed = original;
      changed.owner_address = "not-an-address";
      QVERIFY(verify_delegation(changed, node.public_key(), "run-1", kNow) == DelegationStatus::MalformedOwner);
    }
    for (std::size_t i = 0; i < original.signature.size(); i += 9) {
      auto changed = original;
      changed.signature[i] ^= 0x04;
      QVERIFY(verify_delegation(changed, node.public_key(), "run-1", kNow) == DelegationStatus::BadSignature);
    }
  }

  // The same bytes signed for another purpose (a wallet message, a receipt) are not a delegation.
  void otherDomainsCannotBeReplayed() {
    const auto owner = KeyPair::generate();
    const auto node = KeyPair::generate();
    auto delegation = sign_delegation(owner, node.public_key(), "run-1", kNow + 100);
    const auto bytes_signed = delegation.signed_bytes();
    for (const auto domain : {SignatureDomain::Message, SignatureDomain::Receipt, SignatureDomain::Statement}) {
      delegation.signature = owner.sign(domain, bytes_signed);
      QVERIFY(verify_delegation(delegation, node.public_key(), "run-1", kNow) == DelegationStatus::BadSignature);
    }
  }

  void jsonRoundTrip() {
    const auto owner = KeyPair::generate();
    const auto node = KeyPair::generate();
    const auto delegation = sign_delegation(owner, node.public_key(), "run-9", kNow + 5);
    const auto document = delegation.to_json();
    QCOMPARE(document["owner"].get<std::string>(), address_of(owner.public_key()));
    QCOMPARE(document["node_key"].get<std::string>(), address_of(node.public_key()));
    const auto back = Delegation::from_json(nlohmann::json::parse(document.dump()));
    QVERIFY(verify_delegation(back, node.public_key(), "run-9", kNow) == DelegationStatus::Valid);
    auto broken = document;
    broken.erase("signature");
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Delegation::from_json(broken));
    broken = document;
    broken["node_key"] = "abc";
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Delegation::from_json(broken));
    QVERIFY(!describe(DelegationStatus::Expired).empty());
  }
};

QTEST_APPLESS_MAIN(TestDelegation)
#include "test_delegation.moc"
