// The wire header: round trips, every rejection reason, and no crash on mangled frames.
#include <QtTest>

#include <random>

#include "core/net/wire.h"

using namespace tessera::net;

namespace {

MessageHeader sample() {
  MessageHeader header;
  header.kind = MessageKind::Forward;
  header.run_id = "run-2026.demo_1";
  header.step = 123456789012ull;
  header.micro_batch = 7;
  header.stage = 2;
  header.codec = 3;
  header.dtype = tessera::model::DType::float16;
  header.shape = {4, 128, 256};
  return header;
}

std::vector<std::uint8_t> payload_of(std::size_t size) {
  std::vector<std::uint8_t> payload(size);
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(i * 31 + 7);
  return payload;
}

}  // namespace

class TestWire : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void roundTrip() {
    const auto payload = payload_of(1000);
    const auto frame = encode_header(sample(), payload);
    const auto decoded = decode_header(frame);
    QCOMPARE(decoded.error, WireError::None);
    const auto& header = *decoded.header;
    QCOMPARE(header.kind, MessageKind::Forward);
    QCOMPARE(QString::fromStdString(header.run_id), QStringLiteral("run-2026.demo_1"));
    QCOMPARE(header.step, 123456789012ull);
    QCOMPARE(header.micro_batch, 7u);
    QCOMPARE(header.stage, std::uint16_t(2));
    QCOMPARE(header.codec, std::uint8_t(3));
    QCOMPARE(header.dtype, tessera::model::DType::float16);
    QCOMPARE(header.shape, (std::vector<std::uint64_t>{4, 128, 256}));
    QCOMPARE(header.element_count(), std::uint64_t(4 * 128 * 256));
    QCOMPARE(header.payload_bytes, std::uint64_t(1000));
    QCOMPARE(check_payload(header, payload), WireError::None);
    QCOMPARE(encode_header_frame(header), frame);
  }

  void payloadMismatchesAreCaught() {
    auto payload = payload_of(64);
    const auto header = *decode_header(encode_header(sample(), payload)).header;
    auto shorter = payload;
    shorter.pop_back();
    QCOMPARE(check_payload(header, shorter), WireError::PayloadSizeMismatch);
    payload[10] ^= 0x40;
    QCOMPARE(check_payload(header, payload), WireError::PayloadHashMismatch);
  }

  void rejections_data() {
    QTest::addColumn<int>("offset");
    QTest::addColumn<int>("value");
    QTest::addColumn<int>("expected");
    QTest::newRow("magic") << 0 << int('X') << int(WireError::BadMagic);
    QTest::newRow("version") << 4 << 9 << int(WireError::UnsupportedVersion);
    QTest::newRow("reserved") << 26 << 1 << int(WireError::ReservedNotZero);
    QTest::newRow("kind 0") << 6 << 0 << int(WireError::UnknownKind);
    QTest::newRow("kind 200") << 6 << 200 << int(WireError::UnknownKind);
    QTest::newRow("dtype") << 8 << 99 << int(WireError::UnknownDType);
    QTest::newRow("dims over limit") << 9 << 9 << int(WireError::TooManyDims);
    QTest::newRow("dims disagree with length") << 9 << 2 << int(WireError::LengthMismatch);
    QTest::newRow("run id empty") << 10 << 0 << int(WireError::BadRunId);
    QTest::newRow("run id too long") << 10 << 65 << int(WireError::BadRunId);
    QTest::newRow("run id char") << 76 << int('/') << int(WireError::BadRunId);
    QTest::newRow("payload size") << 35 << 0x7f << int(WireError::PayloadTooLarge);
  }

  void rejections() {
    QFETCH(int, offset);
    QFETCH(int, value);
    QFETCH(int, expected);
    auto frame = encode_header(sample(), payload_of(16));
    frame[static_cast<std::size_t>(offset)] = static_cast<std::uint8_t>(value);
    const auto decoded = decode_header(frame);
    QCOMPARE(int(decoded.error), expected);
    QVERIFY(!decoded.header);
  }

  void hugeShapesAreRefusedBeforeAllocation() {
    auto header = sample();
    header.shape = {1ull << 20, 1ull << 20};  // 2^40 elements
    QCOMPARE(decode_header(encode_header(header, {})).error, WireError::TooManyElements);
    header.shape = {(1ull << 31) + 1};
    QCOMPARE(decode_header(encode_header(header, {})).error, WireError::DimTooLarge);
    header.shape = {1ull << 31, 1ull << 31, 1ull << 31, 0};  // would overflow before the zero
    QCOMPARE(decode_header(encode_header(header, {})).error, WireError::TooManyElements);
    WireLimits tight;
    tight.max_payload_bytes = 10;
    QCOMPARE(decode_header(encode_header(sample(), payload_of(11)), tight).error, WireError::PayloadTooLarge);
  }

  void truncationsAndGarbageNeverCrash() {
    const auto frame = encode_header(sample(), payload_of(32));
    for (std::size_t length = 0; length < frame.size(); ++length)
      QVERIFY(decode_header(std::span(frame.data(), length)).error != WireError::None);
    std::mt19937 random(42);
    int decoded = 0;
    for (int round = 0; round < 20000; ++round) {
      auto mangled = frame;
      const int flips = 1 + static_cast<int>(random() % 4);
      for (int i = 0; i < flips; ++i) mangled[random() % mangled.size()] = static_cast<std::uint8_t>(random());
      const auto result = decode_header(mangled);
      if (result.header) {
        ++decoded;
        QCOMPARE(encode_header_frame(*result.header), mangled);  // what decodes is exactly what was sent
      }
    }
    QVERIFY(decoded > 0);  // flips in step/stage/hash bytes still decode
  }

  void encoderRefusesWhatItCannotCarry() {
    auto header = sample();
    header.run_id = "bad/run";
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encode_header(header, {}));
    header = sample();
    header.shape.assign(9, 1);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encode_header(header, {}));
  }
};

QTEST_APPLESS_MAIN(TestWire)
#include "test_wire.moc"
