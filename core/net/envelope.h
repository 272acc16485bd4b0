// The payload frame of swarm messages: a small JSON object (attempt, route, receipt, loss …)
// followed by the raw bytes it describes (a codec payload, token ids, a gradient vector). The
// whole frame is what the wire header's length and BLAKE2b hash cover, and what receipts sign.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::net {

inline constexpr std::size_t kMaxMetaBytes = 1 << 20;
inline constexpr int kMaxMetaDepth = 8;  // a route is 3 levels deep

struct Envelope {
  nlohmann::json meta = nlohmann::json::object();
  std::vector<std::uint8_t> blob;
};

// u32 little-endian meta length ‖ meta JSON ‖ blob.
std::vector<std::uint8_t> pack(const nlohmann::json& meta, std::span<const std::uint8_t> blob = {});
// Nothing when the frame is not a well-formed envelope (lengths, a JSON object at most
// kMaxMetaDepth deep); never throws.
std::optional<Envelope> unpack(std::span<const std::uint8_t> payload);

std::vector<std::uint8_t> floats_to_bytes(const std::vector<float>& values);
// Nothing when the byte count is not a multiple of 4.
std::optional<std::vector<float>> bytes_to_floats(std::span<const std::uint8_t> bytes);

}  // namespace tessera::net
