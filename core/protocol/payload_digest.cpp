// Content digests: BLAKE2b-256 over a domain tag and little-endian fields.
#include "core/protocol/payload_digest.h"

#include <sodium.h>

#include <bit>
#include <cstring>
#include <string_view>

#include "core/protocol/little_endian.h"

namespace tessera::protocol {
namespace {

class Digester {
 public:
  explicit Digester(std::string_view tag) {
    crypto_generichash_init(&state_, nullptr, 0, crypto_generichash_BYTES);
    bytes({reinterpret_cast<const std::uint8_t*>(tag.data()), tag.size()});
  }
  void bytes(std::span<const std::uint8_t> raw) { crypto_generichash_update(&state_, raw.data(), raw.size()); }
  template <typename T>
  void put(T value) {
    std::uint8_t le[sizeof(T)];
    put_le<T>(le, value);
    bytes(le);
  }
  void shape(std::uint8_t codec, std::span<const std::int64_t> dims) {
    put<std::uint8_t>(codec);
    put<std::uint8_t>(static_cast<std::uint8_t>(dims.size()));
    for (const auto d : dims) put<std::uint64_t>(static_cast<std::uint64_t>(d));
  }
  PayloadDigest finish() {
    PayloadDigest out{};
    crypto_generichash_final(&state_, out.data(), out.size());
    return out;
  }

 private:
  crypto_generichash_state state_{};
};

}  // namespace

PayloadDigest tokens_digest(std::span<const std::int32_t> tokens) {
  Digester d("tessera/tokens/v1");
  d.put<std::uint64_t>(tokens.size());
  if constexpr (std::endian::native == std::endian::little)
    d.bytes({reinterpret_cast<const std::uint8_t*>(tokens.data()), tokens.size_bytes()});
  else
    for (const auto id : tokens) d.put<std::int32_t>(id);
  return d.finish();
}

PayloadDigest forward_digest(std::uint8_t codec, std::span<const std::int64_t> shape,
                             std::span<const std::uint8_t> activations, std::span<const std::int32_t> tokens) {
  Digester d("tessera/forward/v1");
  d.shape(codec, shape);
  d.put<std::uint64_t>(activations.size());
  d.bytes(activations);
  d.bytes(tokens_digest(tokens));
  return d.finish();
}

PayloadDigest backward_digest(std::uint8_t codec, std::span<const std::int64_t> shape,
                              std::span<const std::uint8_t> gradient) {
  Digester d("tessera/backward/v1");
  d.shape(codec, shape);
  d.put<std::uint64_t>(gradient.size());
  d.bytes(gradient);
  return d.finish();
}

PayloadDigest weights_digest(std::span<const float> parameters) {
  Digester d("tessera/weights/v1");
  d.put<std::uint64_t>(parameters.size());
  static_assert(sizeof(float) == 4);
  if constexpr (std::endian::native == std::endian::little) {
    d.bytes({reinterpret_cast<const std::uint8_t*>(parameters.data()), parameters.size_bytes()});
  } else {
    for (const float value : parameters) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, &value, sizeof bits);
      d.put<std::uint32_t>(bits);
    }
  }
  return d.finish();
}

}  // namespace tessera::protocol
