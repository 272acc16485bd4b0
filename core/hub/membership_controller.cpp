// Challenge, join, ready, heartbeat, leave and the peer list over cpp-httplib.
#include "core/hub/membership_controller.h"

#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/model/model_config.h"
#include "core/hub/assignments.h"
#include "core/hub/peer_directory.h"
#include "core/hub/request_verifier.h"
#include "core/hub/run_roster.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {

MembershipController::MembershipController(const protocol::RunManifest& manifest, PeerDirectory& directory,
                                           RunRoster& roster, const RequestVerifier& verifier,
                                           std::chrono::milliseconds heartbeat_timeout)
    : manifest_(manifest),
      directory_(directory),
      roster_(roster),
      verifier_(verifier),
      heartbeat_timeout_(heartbeat_timeout) {}

nlohmann::json MembershipController::join(const nlohmann::json& body) {
  using net::json_field;
  const auto key = key_field(body, "node_key");
  const auto nonce = wallet::fixed_from_hex<32>(json_field<std::string>(body, "nonce"));
  const auto signature = wallet::fixed_from_hex<64>(json_field<std::string>(body, "signature"));
  if (!nonce || !signature) throw std::invalid_argument("nonce or signature is not hex of the right length");
  if (!challenges_.redeem(*nonce, manifest_.run_id, key, *signature))
    throw net::HttpError(403, "join refused: the challenge answer is wrong, expired or already used");
  const auto delegation = wallet::Delegation::from_json(json_field<nlohmann::json>(body, "delegation"));
  const auto status = wallet::verify_delegation(delegation, key, manifest_.run_id, unix_ms() / 1000);
  if (status != wallet::DelegationStatus::Valid)
    throw net::HttpError(403, "join refused: delegation " + std::string(wallet::describe(status)));
  const auto endpoint = json_field<std::string>(body, "endpoint");
  if (endpoint.rfind("tcp://", 0) != 0 || endpoint.size() > 200)
    throw std::invalid_argument("endpoint must be a tcp:// address");
  const auto device = json_field<nlohmann::json>(body, "device");
  Peer peer;
  peer.node_key = key;
  peer.owner = delegation.owner_address;
  peer.endpoint = endpoint;
  peer.device.name = json_field<std::string>(device, "name").substr(0, 200);
  peer.device.memory_bytes = json_field<std::uint64_t>(device, "memory_bytes");
  peer.device.tokens_per_s = device.value("tokens_per_s", 0.0);
  peer.last_seen = Clock::now();
  roster_.unready(key);  // a returning node is not ready until it has its stage's state again
  directory_.remove(key);
  const auto stage = directory_.choose_stage(peer.device.memory_bytes);
  if (!stage)
    throw net::HttpError(403, "join refused: no stage of this run fits in " +
                                  model::format_bytes(static_cast<std::int64_t>(peer.device.memory_bytes)));
  peer.stage = *stage;
  directory_.upsert(peer);
  roster_.admit(key, *stage, delegation.owner_address);
  nlohmann::json reply{{"stage", *stage}, {"stages", manifest_.stages}, {"run", manifest_.run_id}};
  if (assignments_) assignments_->add_to(reply, key, *stage);
  return reply;
}

nlohmann::json MembershipController::peers_json() {
  directory_.expire(Clock::now(), heartbeat_timeout_);
  const auto ready_orders = roster_.ready_orders();
  std::vector<std::pair<std::uint64_t, Peer>> ready;
  for (auto& peer : directory_.peers()) {
    const auto found = ready_orders.find(peer.node_key);
    ready.emplace_back(found != ready_orders.end() ? found->second : 0, std::move(peer));
  }
  std::sort(ready.begin(), ready.end(), [](const auto& a, const auto& b) {
    return (a.first == 0 ? UINT64_MAX : a.first) < (b.first == 0 ? UINT64_MAX : b.first);
  });
  auto out = nlohmann::json::array();
  for (const auto& [order, peer] : ready)
    out.push_back(protocol::to_json(protocol::PeerInfo{peer.node_key, peer.owner, peer.endpoint, peer.stage, order,
                                                       peer.device.name}));
  return out;
}

void MembershipController::mount(httplib::Server& server) {
  namespace api = protocol::hub_api;
  server.Post(api::kChallenge, [this](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, {{"nonce", wallet::to_hex(challenges_.issue())}, {"run", manifest_.run_id}});
  });
  server.Post(api::kJoin, [this](const httplib::Request& request, httplib::Response& response) {
    net::reply_json(response, 200, join(net::json_object_body(request)));
  });
  server.Post(api::kReady, [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = verifier_.verify(api::kReady, net::json_object_body(request));
    if (!directory_.heartbeat(key, Clock::now())) throw net::HttpError(404, "unknown peer: join again");
    roster_.mark_ready(key);
    net::reply_json(response, 200, {{"ready", true}});
  });
  server.Post(api::kHeartbeat, [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = verifier_.verify(api::kHeartbeat, net::json_object_body(request));
    if (!directory_.heartbeat(key, Clock::now())) throw net::HttpError(404, "unknown peer: join again");
    nlohmann::json reply{{"ok", true}};
    if (const auto peer = directory_.find(key); peer && assignments_) assignments_->add_to(reply, key, peer->stage);
    net::reply_json(response, 200, reply);
  });
  server.Post(api::kLeave, [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = verifier_.verify(api::kLeave, net::json_object_body(request));
    directory_.remove(key);
    roster_.unready(key);
    net::reply_json(response, 200, {{"ok", true}});
  });
  server.Get(api::kPeers, [this](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, {{"run", manifest_.run_id}, {"stages", manifest_.stages}, {"peers", peers_json()}});
  });
}

}  // namespace tessera::hub
