// Domain-separated Ed25519: signatures verify in their own domain only, and keys from a seed are
// deterministic (RFC 8032 TEST 1 public key).
#include <QtTest>

#include <cstring>
#include <set>

#include <sodium.h>

#include "core/wallet/signing.h"

using namespace tessera::wallet;

namespace {
std::vector<std::uint8_t> from_hex(const char* hex) {
  std::vector<std::uint8_t> bytes(std::strlen(hex) / 2);
  size_t used = 0;
  sodium_hex2bin(bytes.data(), bytes.size(), hex, std::strlen(hex), nullptr, &used, nullptr);
  bytes.resize(used);
  return bytes;
}
}  // namespace

class TestSigning : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void seedGivesRfc8032PublicKey() {
    const auto seed = from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    const auto pair = KeyPair::from_seed(seed);
    const auto expected = from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    QVERIFY(std::equal(expected.begin(), expected.end(), pair.public_key().begin()));
  }

  void signatureVerifiesOnlyInItsDomain() {
    const auto pair = KeyPair::generate();
    const auto message = as_bytes("step 7, micro-batch 3");
    const auto signature = pair.sign(SignatureDomain::Receipt, message);
    QVERIFY(verify(SignatureDomain::Receipt, message, signature, pair.public_key()));
    QVERIFY(!verify(SignatureDomain::Delegation, message, signature, pair.public_key()));
    QVERIFY(!verify(SignatureDomain::Receipt, as_bytes("step 7, micro-batch 4"), signature, pair.public_key()));
    auto tampered = signature;
    tampered[10] ^= 1;
    QVERIFY(!verify(SignatureDomain::Receipt, message, tampered, pair.public_key()));
    QVERIFY(!verify(SignatureDomain::Receipt, message, signature, KeyPair::generate().public_key()));
  }

  void domainTagsAreDistinct() {
    std::set<std::string> tags;
    for (auto domain : {SignatureDomain::Delegation, SignatureDomain::Receipt, SignatureDomain::Statement,
                        SignatureDomain::Manifest, SignatureDomain::LedgerHead, SignatureDomain::HubRequest,
                        SignatureDomain::Message, SignatureDomain::Assignment, SignatureDomain::StepTicket})
      tags.insert(std::string(domain_tag(domain)));
    QCOMPARE(tags.size(), size_t(9));
  }

  void secureBytesMoveAndWipe() {
    auto buffer = SecureBytes::copy_of(as_bytes("secret"));
    QCOMPARE(buffer.size(), size_t(6));
    QVERIFY(buffer.equals(as_bytes("secret")));
    QVERIFY(!buffer.equals(as_bytes("secreT")));
    SecureBytes moved = std::move(buffer);
    QVERIFY(buffer.empty());
    QVERIFY(moved.equals(as_bytes("secret")));
    moved.wipe();
    QVERIFY(moved.empty());
  }

  void badSeedLengthIsRejected() {
    const std::vector<std::uint8_t> short_seed(31);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, KeyPair::from_seed(short_seed));
  }
};

QTEST_APPLESS_MAIN(TestSigning)
#include "test_signing.moc"
