// Boundary codecs: round-trip error within each codec's stated bound, bytes per token, and
// rejection of malformed payloads.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/model/codec.h"
#include "tests/support/random_tensor.h"

using namespace tessera::model;

using tessera::test::random_tensor;

class TestCodec : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void roundTripsWithinStatedError_data() {
    QTest::addColumn<QString>("codec");
    for (auto kind : all_codecs()) QTest::newRow(codec_name(kind).c_str()) << QString::fromStdString(codec_name(kind));
  }

  void roundTripsWithinStatedError() {
    QFETCH(QString, codec);
    const auto kind = parse_codec(codec.toStdString());
    const auto tensor = random_tensor({2, 5, 48}, 11);
    const auto payload = encode(kind, tensor);
    QCOMPARE(payload.bytes.size(), std::size_t(10) * payload_bytes_per_token(kind, 48));
    const auto back = decode(payload, kind, {2, 5, 48}).to_floats();
    const auto original = tensor.to_floats();
    for (int token = 0; token < 10; ++token) {
      float largest = 0.0f;
      for (int i = 0; i < 48; ++i) largest = std::max(largest, std::abs(original[token * 48 + i]));
      for (int i = 0; i < 48; ++i) {
        const double error = std::abs(back[token * 48 + i] - original[token * 48 + i]);
        const double bound = kind == CodecKind::fp16 ? codec_error_bound(kind) * std::abs(original[token * 48 + i]) + 1e-7
                                                     : codec_error_bound(kind) * largest * 1.0001;
        QVERIFY2(error <= bound, qPrintable(QStringLiteral("%1: error %2 > bound %3").arg(codec).arg(error).arg(bound)));
      }
    }
    if (kind == CodecKind::none) QCOMPARE(back, original);
  }

  void fp16HandlesSmallAndLargeValues() {
    const std::vector<float> values{0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.1e-5f, 3.0e-7f, 1e-9f};
    const auto back = decode(encode(CodecKind::fp16, HostTensor::from_floats({1, 8}, values))).to_floats();
    QCOMPARE(back[2], 1.0f);
    QCOMPARE(back[3], -2.5f);
    QCOMPARE(back[4], 65504.0f);
    QVERIFY(std::abs(back[5] - 6.1e-5f) < 1e-7f);
    QVERIFY(std::abs(back[6] - 3.0e-7f) < 6e-8f);  // subnormal half
    QCOMPARE(back[7], 0.0f);
  }

  // Stochastic rounding: within one step of the input, the same bytes for the same tensor, and
  // unbiased: values far below half a step survive on average where nearest rounding drops them.
  void stochasticRoundingIsUnbiased() {
    constexpr int width = 4096;
    std::vector<float> values(width, 0.1f);  // a tenth of a step: the first value sets the scale
    values[0] = 127.0f;
    const auto tensor = HostTensor::from_floats({1, width}, values);
    const auto nearest = decode(encode(CodecKind::int8, tensor, Rounding::nearest)).to_floats();
    const auto payload = encode(CodecKind::int8, tensor, Rounding::stochastic);
    QCOMPARE(encode(CodecKind::int8, tensor, Rounding::stochastic).bytes, payload.bytes);
    const auto stochastic = decode(payload).to_floats();
    double nearest_mean = 0.0, stochastic_mean = 0.0;
    for (int i = 1; i < width; ++i) {
      QVERIFY(std::abs(stochastic[i] - values[i]) < 1.0f);  // one step is 1.0 here
      nearest_mean += nearest[i] / (width - 1);
      stochastic_mean += stochastic[i] / (width - 1);
    }
    QCOMPARE(nearest_mean, 0.0);
    QVERIFY2(std::abs(stochastic_mean - 0.1) < 0.02, qPrintable(QString::number(stochastic_mean)));
    QCOMPARE(stochastic[0], 127.0f);
  }

  void bytesPerTokenAndCompression() {
    QCOMPARE(payload_bytes_per_token(CodecKind::none, 512), std::size_t(2048));
    QCOMPARE(payload_bytes_per_token(CodecKind::fp16, 512), std::size_t(1024));
    QCOMPARE(payload_bytes_per_token(CodecKind::int8, 512), std::size_t(516));
    // The subspace codec carries r coefficients: r = 16 at width 512 is 20 bytes, 102× less.
    QCOMPARE(payload_bytes_per_token(CodecKind::subspace, 16), std::size_t(20));
  }

  void rejectsWrongShapeCodecAndSize() {
    const auto payload = encode(CodecKind::int8, random_tensor({2, 3, 8}, 3));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(payload, CodecKind::int8, {2, 3, 16}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(payload, CodecKind::fp16, {2, 3, 8}));
    auto truncated = payload;
    truncated.bytes.pop_back();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(truncated, CodecKind::int8, {2, 3, 8}));
    try {
      decode(payload, CodecKind::int8, {2, 3, 16});
      QFAIL("no exception");
    } catch (const std::invalid_argument& error) {
      QVERIFY(QString(error.what()).contains("expected shape [2, 3, 16], got [2, 3, 8]"));
    }
  }

  void rejectsNonFinite() {
    auto values = random_tensor({1, 2, 4}, 5).to_floats();
    values[3] = std::numeric_limits<float>::quiet_NaN();
    const auto bad = HostTensor::from_floats({1, 2, 4}, values);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encode(CodecKind::none, bad));
    // A NaN smuggled into the bytes of a payload is caught on arrival, for every codec.
    Payload none = encode(CodecKind::none, random_tensor({1, 2, 4}, 6));
    const float inf = std::numeric_limits<float>::infinity();
    std::memcpy(none.bytes.data() + 4, &inf, 4);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(none, CodecKind::none, {1, 2, 4}));
    Payload half = encode(CodecKind::fp16, random_tensor({1, 2, 4}, 6));
    half.bytes[1] = 0x7e;  // exponent all ones: NaN
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(half, CodecKind::fp16, {1, 2, 4}));
    Payload int8 = encode(CodecKind::int8, random_tensor({1, 2, 4}, 6));
    std::memcpy(int8.bytes.data(), &inf, 4);  // the first token's scale
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(int8, CodecKind::int8, {1, 2, 4}));
  }

  // The buffer forms (what Stage uses: encode from a tensor's memory, decode into one) give the
  // same bytes and values as the HostTensor forms, for every codec.
  void bufferFormsMatchHostTensorForms() {
    const std::vector<std::int64_t> shape{3, 7, 33};  // odd counts: the finiteness scan's tail
    const auto tensor = random_tensor(shape, 21);
    const auto values = tensor.to_floats();
    for (auto kind : all_codecs())
      for (auto rounding : {Rounding::nearest, Rounding::stochastic}) {
        const auto payload = encode(kind, shape, values.data(), rounding);
        QCOMPARE(payload.bytes, encode(kind, tensor, rounding).bytes);
        QCOMPARE(payload.shape, shape);
        std::vector<float> decoded(values.size(), -1.0f);
        decode(payload, kind, shape, decoded.data());
        QCOMPARE(decoded, decode(payload, kind, shape).to_floats());
      }
  }

  // NaN and Inf are found wherever they sit (the scan takes two values at a time, then a tail),
  // on the way out and on the way in, and the message says which value.
  void findsNonFiniteAtEveryPosition() {
    const std::vector<std::int64_t> shape{1, 5};
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()})
      for (int position = 0; position < 5; ++position) {
        std::vector<float> values{1.0f, -2.0f, 3.0e38f, -0.0f, 1e-40f};  // finite extremes pass
        QCOMPARE(encode(CodecKind::none, shape, values.data()).bytes.size(), std::size_t(20));
        values[static_cast<std::size_t>(position)] = bad;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encode(CodecKind::none, shape, values.data()));
        Payload smuggled = encode(CodecKind::none, shape, std::vector<float>(5, 1.0f).data());
        std::memcpy(smuggled.bytes.data() + 4 * position, &bad, 4);
        std::vector<float> out(5);
        try {
          decode(smuggled, CodecKind::none, shape, out.data());
          QFAIL("non-finite value accepted");
        } catch (const std::invalid_argument& error) {
          QVERIFY2(QString(error.what()).contains(QStringLiteral("value %1 is NaN or Inf").arg(position)), error.what());
        }
      }
  }

  // A payload whose shape promises far more values than its bytes hold is refused before
  // anything is allocated for it (no attempt at terabytes, no overflow).
  void refusesOversizedShapesBeforeAllocating() {
    Payload huge;
    huge.codec = CodecKind::none;
    huge.shape = {1 << 20, 1 << 20, 1 << 20};
    huge.bytes.resize(16);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(huge));
    huge.shape = {std::int64_t{1} << 40, 4};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(huge));
  }

  void rejectsOtherDtypes() {
    HostTensor ints;
    ints.shape = {2};
    ints.dtype = DType::int32;
    ints.bytes.resize(8);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encode(CodecKind::fp16, ints));
  }

  void parsesNames() {
    QCOMPARE(parse_codec("subspace"), CodecKind::subspace);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_codec("zip"));
  }
};

QTEST_APPLESS_MAIN(TestCodec)
#include "test_codec.moc"
