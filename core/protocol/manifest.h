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
};

// Everything but the signature, as sorted-key JSON text: the bytes that are signed.
std::string canonical_text(const RunManifest& manifest);
nlohmann::json to_json(const RunManifest& manifest);
// Parses and validates (model shape, stage count, codec, run id, keys); throws
// std::invalid_argument naming the bad field. Does not check the signature.
RunManifest manifest_from_json(const nlohmann::json& json);

void sign_manifest(RunManifest& manifest, const wallet::KeyPair& publisher);
// True when the manifest is signed by `expected_publisher`.
bool verify_manifest(const RunManifest& manifest, const wallet::PublicKey& expected_publisher);

}  // namespace tessera::protocol
