// Run manifests: what a hub publishes about a training run (model, stage partition, boundary
// codec, hyper-parameters, data, epoch length, inference price, the key that signs statements),
// signed by the run publisher. A node trusts a run's statements only through a manifest whose
// signature it has checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/model_config.h"
#include "core/model/power_sgd.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {

// A data shard the run trains on: content-addressed, so anyone can check a copy against it.
struct ManifestShard {
  std::string hash;           // BLAKE2b-256 of the shard's bytes, 64 lowercase hex digits
  std::uint64_t bytes = 0;    // 1 .. kMaxShardBytes
  std::string contributor;    // the contributor's owner address (base58), "" for the publisher's own
  bool operator==(const ManifestShard&) const = default;
};

inline constexpr std::uint64_t kMaxShardBytes = 64ull << 20;
inline constexpr std::size_t kMaxShards = 10'000;

struct RunManifest {
  std::string run_id;
  model::ModelConfig model;
  model::TrainConfig train;
  int stages = 1;
  std::string codec = "none";                // engine codec name: none, fp16, int8, subspace
  // How replicas of a stage combine gradients. Written into the signed text only when it is not
  // exact, so manifests signed before it existed keep verifying.
  model::AveragingConfig averaging;
  std::vector<std::string> dataset;          // "arithmetic", or BLAKE2b-256 hex hashes of shards
  std::int64_t epoch_seconds = 3600;
  std::uint64_t price_per_1k_tokens = 0;     // inference price in micro-units of `currency`
  std::string currency = "USDC";
  wallet::PublicKey hub_key{};               // signs the epoch statements
  wallet::PublicKey publisher_key{};         // signs this manifest
  wallet::Signature signature{};
  // The fields below are written into the signed text only when they are not their defaults, so
  // manifests signed before they existed keep verifying byte for byte.
  std::uint64_t revision{};                  // bumped by each accepted change of the run
  std::vector<ManifestShard> shards{};       // when non-empty, `dataset` is their hashes in order
  std::uint64_t data_units_per_1k_tokens{};  // credited to a shard's contributor per 1,000 trained tokens
};

// A run id: 1 to 64 of A-Z a-z 0-9 . _ - (it names files, URL paths and wire headers).
bool valid_run_id(const std::string& id);

// Everything but the signature, as sorted-key JSON text: the bytes that are signed.
std::string canonical_text(const RunManifest& manifest);
nlohmann::json to_json(const RunManifest& manifest);
// Parses and validates (model shape, stage count, codec, run id, keys, shards); throws
// std::invalid_argument naming the bad field. Does not check the signature.
RunManifest manifest_from_json(const nlohmann::json& json);

void sign_manifest(RunManifest& manifest, const wallet::KeyPair& publisher);
// True when the manifest is signed by `expected_publisher`.
bool verify_manifest(const RunManifest& manifest, const wallet::PublicKey& expected_publisher);

}  // namespace tessera::protocol
