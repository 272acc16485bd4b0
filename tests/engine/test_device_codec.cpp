// The device codecs (core/backend/device_codec.h: the codecs as tensor operations, what a CUDA stage
// runs on the GPU) give the host codecs' bytes and values, for every codec and rounding, here on
// the CPU through the loaded backend (registered once per backend); and they refuse what the host
// codecs refuse. The same comparison on CUDA is the gpu check device_codecs_match_cpu.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/engine/backend_loader.h"
#include "tests/support/random_tensor.h"

using namespace tessera;
using namespace tessera::engine;

namespace {

model::HostTensor tensor_with_edges(std::vector<std::int64_t> shape, std::uint64_t seed, float spread) {
  auto values = test::random_tensor(shape, seed, spread).to_floats();
  const std::int64_t width = shape.back();
  // Row 0: levels exactly half-way (127 * k / 254 of the largest value 127), where round-half-even
  // and the host's round-half-away differ.
  for (std::int64_t i = 0; i < width; ++i) values[static_cast<std::size_t>(i)] = (i % 2 ? -1.0f : 1.0f) * (0.5f + i % 7);
  values[0] = 127.0f;
  // Row 1: all zeros (scale 1); row 2: fp16 subnormals, the fp16 overflow edge and tiny values.
  for (std::int64_t i = 0; i < width; ++i) values[static_cast<std::size_t>(width + i)] = 0.0f;
  values[static_cast<std::size_t>(2 * width)] = 6.0e-6f;
  values[static_cast<std::size_t>(2 * width + 1)] = -3.0e-8f;
  values[static_cast<std::size_t>(2 * width + 2)] = 65504.0f;
  values[static_cast<std::size_t>(2 * width + 3)] = 1.0e-30f;
  return model::HostTensor::from_floats(std::move(shape), values);
}

DeviceChoice cpu() { return {}; }

}  // namespace

class TestDeviceCodec : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void sameBytesAndValuesAsTheHostCodecs_data() {
    QTest::addColumn<int>("codec");
    QTest::addColumn<int>("rounding");
    QTest::addColumn<float>("spread");
    for (auto codec : model::all_codecs())
      for (auto rounding : {model::Rounding::nearest, model::Rounding::stochastic})
        for (float spread : {1e-3f, 3.0f, 1e4f})
          QTest::addRow("%s/%s/%g", model::codec_name(codec).c_str(),
                        rounding == model::Rounding::nearest ? "nearest" : "stochastic", double(spread))
              << int(codec) << int(rounding) << spread;
  }

  void sameBytesAndValuesAsTheHostCodecs() {
    QFETCH(int, codec);
    QFETCH(int, rounding);
    QFETCH(float, spread);
    const auto kind = static_cast<model::CodecKind>(codec);
    const auto round = static_cast<model::Rounding>(rounding);
    const auto values = tensor_with_edges({3, 17, 96}, 11, spread);
    const auto host = model::encode(kind, values, round);
    const auto device = backend().device_encode(cpu(), kind, values, round);
    QCOMPARE(device.codec, host.codec);
    QCOMPARE(device.shape, host.shape);
    QCOMPARE(device.bytes.size(), host.bytes.size());
    QVERIFY2(device.bytes == host.bytes, "the tensor codec encodes other bytes than the host codec");
    const auto decoded = backend().device_decode(cpu(), host, kind, values.shape);
    QVERIFY2(decoded.bytes == model::decode(host, kind, values.shape).bytes,
             "the tensor codec decodes other values than the host codec");
  }

  void refusesWhatTheHostCodecsRefuse() {
    auto values = tensor_with_edges({2, 4, 8}, 3, 1.0f);
    auto floats = values.to_floats();
    floats[5] = std::numeric_limits<float>::quiet_NaN();
    const auto with_nan = model::HostTensor::from_floats(values.shape, floats);
    for (auto kind : model::all_codecs()) {
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, backend().device_encode(cpu(), kind, with_nan, {}));
      const auto good = model::encode(kind, values);
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, backend().device_decode(cpu(), good, kind, {2, 4, 9}));
      auto short_payload = good;
      short_payload.bytes.pop_back();
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, backend().device_decode(cpu(), short_payload, kind, values.shape));
    }
    // A scale that is not finite, and raw values that are not: refused after the copy to the device.
    auto int8 = model::encode(model::CodecKind::int8, values);
    const float inf = std::numeric_limits<float>::infinity();
    std::memcpy(int8.bytes.data(), &inf, 4);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, backend().device_decode(cpu(), int8, model::CodecKind::int8, values.shape));
    auto raw = model::encode(model::CodecKind::none, values);
    std::memcpy(raw.bytes.data() + 8, &inf, 4);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, backend().device_decode(cpu(), raw, model::CodecKind::none, values.shape));
  }
};

QTEST_GUILESS_MAIN(TestDeviceCodec)
#include "test_device_codec.moc"
