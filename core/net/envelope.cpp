// Envelope framing for swarm payloads.
#include "core/net/envelope.h"

#include <cstring>

#include "core/protocol/little_endian.h"
#include "core/sys/bounded_json.h"

namespace tessera::net {

std::vector<std::uint8_t> pack(const nlohmann::json& meta, std::span<const std::uint8_t> blob) {
  const auto text = meta.dump();
  std::vector<std::uint8_t> out(4 + text.size() + blob.size());
  protocol::put_le(out.data(), static_cast<std::uint32_t>(text.size()));
  std::memcpy(out.data() + 4, text.data(), text.size());
  if (!blob.empty()) std::memcpy(out.data() + 4 + text.size(), blob.data(), blob.size());
  return out;
}

std::optional<Envelope> unpack(std::span<const std::uint8_t> payload) {
  if (payload.size() < 4) return std::nullopt;
  const auto length = protocol::get_le<std::uint32_t>(payload.data());
  if (length > kMaxMetaBytes || length > payload.size() - 4) return std::nullopt;
  const auto* text = reinterpret_cast<const char*>(payload.data() + 4);
  Envelope envelope;
  auto meta = sys::parse_bounded_object({text, length}, {kMaxMetaBytes, kMaxMetaDepth});
  if (!meta) return std::nullopt;
  envelope.meta = std::move(*meta);
  envelope.blob.assign(payload.begin() + 4 + length, payload.end());
  return envelope;
}

std::vector<std::uint8_t> floats_to_bytes(const std::vector<float>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::optional<std::vector<float>> bytes_to_floats(std::span<const std::uint8_t> bytes) {
  if (bytes.size() % sizeof(float) != 0) return std::nullopt;
  std::vector<float> out(bytes.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace tessera::net
