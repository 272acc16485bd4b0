// Data shards as both ends see them (docs/data.md): a shard is named by its content address, the
// BLAKE2b-256 of its bytes as 64 lowercase hex digits, so any copy can be checked against the
// manifest that names it. How a proposal travels (POST /api/shards: the raw bytes as the signed
// body, the claimed hash and the owner's delegation in headers) and what the admin API lists of a
// proposal waiting for the publisher's review.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/protocol/manifest.h"

namespace tessera::protocol {

inline constexpr char kShardHashHeader[] = "Tessera-Shard-Hash";   // the hash the proposer claims
inline constexpr char kDelegationHeader[] = "Tessera-Delegation";  // the owner's delegation, compact JSON
inline constexpr std::size_t kMaxDelegationHeaderBytes = 2048;
inline constexpr std::size_t kShardHashHexDigits = 64;

// Incremental BLAKE2b-256, for files read a piece at a time.
class ShardHasher {
 public:
  ShardHasher();
  ~ShardHasher();
  ShardHasher(const ShardHasher&) = delete;
  ShardHasher& operator=(const ShardHasher&) = delete;
  void update(const void* data, std::size_t size);
  std::string hex();  // once; the hasher is spent after

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string shard_hash(std::string_view bytes);
// Throws std::runtime_error when the file cannot be read.
std::string shard_file_hash(const std::filesystem::path& file);
// 64 lowercase hex digits (what a shard's name must be before it touches a path).
bool valid_shard_hash(std::string_view text);

// A proposal waiting for the publisher: its run, hash, size, the proposer's owner address and when.
struct PendingShard {
  std::string run;
  std::string hash;
  std::uint64_t bytes = 0;
  std::string contributor;  // base58 owner address
  std::int64_t proposed_ms = 0;
};

// {"run", "hash", "bytes", "contributor", "proposed_ms"}
nlohmann::json to_json(const PendingShard& shard);
// Throws std::invalid_argument naming a missing, mistyped or malformed field.
PendingShard pending_shard_from_json(const nlohmann::json& value);

// The run's next revision with `shard` appended (revision + 1, `dataset` the shards' hashes in
// order; a run that trained on "arithmetic" trains on its shards from then on), unsigned. Throws
// std::invalid_argument when the run names the shard already or has kMaxShards.
RunManifest with_shard(const RunManifest& manifest, const ManifestShard& shard);

}  // namespace tessera::protocol
