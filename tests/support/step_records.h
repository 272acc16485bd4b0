// What the hub tests need to play the step driver and its neighbours (docs/hub.md "Credit follows
// commits"): a step record for a route, the receipt a slot of it earns, and a signed
// POST /api/steps, sent as the node's driver sends it. Suites that include it link
// PkgConfig::HTTPLIB.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/protocol/route_seed.h"
#include "core/protocol/step_record.h"
#include "core/wallet/signing.h"

namespace tessera::test {

// Step `step` of the run, driven by `driver`, through `replicas` (per stage, in route order) with
// the manifest's micro-batches and tokens; every replica committed.
inline protocol::StepRecord step_record(const protocol::RunManifest& manifest, std::uint64_t step,
                                        const wallet::PublicKey& driver,
                                        std::vector<std::vector<wallet::PublicKey>> replicas,
                                        const std::optional<protocol::SignedRouteSeed>& seed = std::nullopt) {
  protocol::StepRecord record;
  record.run_id = manifest.run_id;
  record.step = step;
  record.attempt = 1;
  record.driver = driver;
  record.micro_batches = static_cast<std::uint32_t>(manifest.train.micro_batches);
  record.tokens_per_micro_batch = static_cast<std::uint32_t>(manifest.train.micro_batch_size * manifest.model.context);
  if (seed) record.route_seed = seed->seed.seed;
  record.committers = replicas;
  record.replicas = std::move(replicas);
  record.tokens_hashes.assign(record.micro_batches, protocol::Digest{});
  return record;
}

// The receipt `receiver` signs for what the slot (step, micro-batch, stage, direction) sent it.
inline protocol::SignedReceipt slot_receipt(const protocol::StepRecord& record, std::uint32_t micro_batch,
                                            protocol::Direction direction, std::uint16_t stage,
                                            const wallet::PublicKey& sender, const wallet::KeyPair& receiver,
                                            std::optional<std::uint32_t> tokens = std::nullopt, std::uint8_t salt = 0) {
  protocol::Receipt r;
  r.run_id = record.run_id;
  r.step = record.step;
  r.micro_batch = micro_batch;
  r.direction = direction;
  r.sender = sender;
  r.receiver = receiver.public_key();
  r.stage = stage;
  r.tokens = tokens.value_or(record.tokens_per_micro_batch);
  r.payload_hash[0] = salt;  // another payload: another receipt for the same slot
  return protocol::sign_receipt(r, receiver);
}

// A signed request to the hub at `url` (GET when `body` is empty and `method` says so).
inline httplib::Result signed_hub_request(const std::string& url, const std::string& run_id, const std::string& method,
                                          const std::string& path, const wallet::KeyPair& key,
                                          const std::string& body) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const auto headers = protocol::to_headers(protocol::sign_hub_request(run_id, method, path, body, now, key));
  httplib::Client client(url);
  client.set_read_timeout(std::chrono::seconds(30));
  const httplib::Headers sent{{protocol::kNodeKeyHeader, headers.node_key},
                              {protocol::kTimeHeader, headers.time_ms},
                              {protocol::kSignatureHeader, headers.signature}};
  if (method == "GET") return client.Get(path, sent);
  return client.Post(path, sent, body, "application/json");
}

// POST /api/steps as `sender` with a signed record (and the step's figures, as the driver sends them).
inline httplib::Result post_step(const std::string& url, const protocol::SignedStepRecord& signed_record,
                                 const wallet::KeyPair& sender) {
  const auto& record = signed_record.record;
  const nlohmann::json body{{"record", signed_record.to_hex()},
                            {"progress", {{"step", record.step}, {"loss", 2.5}, {"tokens", 16}}}};
  return signed_hub_request(url, record.run_id, "POST", protocol::hub_api::kSteps, sender, body.dump());
}

// POST /api/steps as `driver`, with `record` signed by it.
inline httplib::Result post_step(const std::string& url, const protocol::StepRecord& record,
                                 const wallet::KeyPair& driver) {
  return post_step(url, protocol::sign_step_record(record, driver), driver);
}

// The route seed the hub names for the next step in its peer list (asked as member `member`).
inline std::optional<protocol::SignedRouteSeed> next_route_seed(const std::string& url, const std::string& run_id,
                                                                const wallet::KeyPair& member) {
  const auto reply = signed_hub_request(url, run_id, "GET", protocol::hub_api::kPeers, member, "");
  if (!reply || reply->status != 200) return std::nullopt;
  const auto list = protocol::peer_list_from_json(nlohmann::json::parse(reply->body));
  return protocol::SignedRouteSeed::from_hex(list.route_seed);
}

}  // namespace tessera::test
