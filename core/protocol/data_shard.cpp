// Shard hashes and the pending-shard shape.
#include "core/protocol/data_shard.h"

#include <sodium.h>

#include <array>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {

static_assert(hub_api::kShardBodyLimit == kMaxShardBytes, "a proposal's body is one whole shard");

struct ShardHasher::State {
  crypto_generichash_state blake{};
};

ShardHasher::ShardHasher() : state_(std::make_unique<State>()) {
  crypto_generichash_init(&state_->blake, nullptr, 0, kShardHashHexDigits / 2);
}

ShardHasher::~ShardHasher() = default;

void ShardHasher::update(const void* data, std::size_t size) {
  crypto_generichash_update(&state_->blake, static_cast<const unsigned char*>(data), size);
}

std::string ShardHasher::hex() {
  std::array<std::uint8_t, kShardHashHexDigits / 2> digest{};
  crypto_generichash_final(&state_->blake, digest.data(), digest.size());
  return wallet::to_hex(digest);
}

std::string shard_hash(std::string_view bytes) {
  ShardHasher hasher;
  hasher.update(bytes.data(), bytes.size());
  return hasher.hex();
}

std::string shard_file_hash(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  ShardHasher hasher;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hasher.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error("reading " + file.string() + " failed");
  return hasher.hex();
}

bool valid_shard_hash(std::string_view text) {
  if (text.size() != kShardHashHexDigits) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

nlohmann::json to_json(const PendingShard& shard) {
  return {{"run", shard.run},
          {"hash", shard.hash},
          {"bytes", shard.bytes},
          {"contributor", shard.contributor},
          {"proposed_ms", shard.proposed_ms}};
}

PendingShard pending_shard_from_json(const nlohmann::json& value) {
  const auto field = [&](const char* name) -> const nlohmann::json& {
    if (!value.is_object() || !value.contains(name)) throw std::invalid_argument(std::string("pending shard: no ") + name);
    return value.at(name);
  };
  PendingShard shard;
  try {
    shard.run = field("run").get<std::string>();
    shard.hash = field("hash").get<std::string>();
    shard.bytes = field("bytes").get<std::uint64_t>();
    shard.contributor = field("contributor").get<std::string>();
    shard.proposed_ms = field("proposed_ms").get<std::int64_t>();
  } catch (const nlohmann::json::exception& error) {
    throw std::invalid_argument(std::string("pending shard: a field has the wrong type: ") + error.what());
  }
  if (!valid_shard_hash(shard.hash)) throw std::invalid_argument("pending shard: hash is not 64 lowercase hex digits");
  return shard;
}

RunManifest with_shard(const RunManifest& manifest, const ManifestShard& shard) {
  if (!valid_shard_hash(shard.hash)) throw std::invalid_argument("a shard hash is 64 lowercase hex digits");
  for (const auto& named : manifest.shards)
    if (named.hash == shard.hash) throw std::invalid_argument("run " + manifest.run_id + " names shard " + shard.hash + " already");
  if (manifest.shards.size() >= kMaxShards)
    throw std::invalid_argument("run " + manifest.run_id + " has " + std::to_string(kMaxShards) + " shards, the most a run has");
  RunManifest next = manifest;
  next.revision = manifest.revision + 1;
  next.shards.push_back(shard);
  next.dataset.clear();
  for (const auto& named : next.shards) next.dataset.push_back(named.hash);
  next.signature = {};
  return next;
}

}  // namespace tessera::protocol
