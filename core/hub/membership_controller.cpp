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
#include "core/hub/reachability.h"
#include "core/hub/relay_credits.h"
#include "core/hub/request_verifier.h"
#include "core/hub/route_seeder.h"
#include "core/hub/run_roster.h"
#include "core/hub/signed_request.h"
#include "core/hub/traffic_reports.h"
#include "core/net/http_json.h"
#include "core/protocol/manifest.h"
#include "core/protocol/node_address.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {

void admit_or_refuse(const MemberGate* gate, const wallet::PublicKey& node, const std::string* owner) {
  if (!gate) return;
  if (const auto why = gate->refusal(node, owner)) throw net::HttpError(403, "excluded from this run: " + *why);
}

MembershipController::MembershipController(const protocol::RunManifest& manifest, PeerDirectory& directory,
                                           RunRoster& roster, const RequestVerifier& verifier,
                                           std::chrono::milliseconds heartbeat_timeout, MembershipLimits limits)
    : manifest_(manifest),
      directory_(directory),
      roster_(roster),
      verifier_(verifier),
      heartbeat_timeout_(heartbeat_timeout),
      challenges_per_address_(limits.challenges_per_address),
      joins_per_address_(limits.joins_per_address),
      joins_per_key_(limits.joins_per_key),
      joins_per_owner_(limits.joins_per_owner) {}

nlohmann::json MembershipController::join(const wallet::PublicKey& key, const protocol::JoinBody& body,
                                          const std::string& seen) {
  if (!challenges_.redeem(body.nonce))
    throw net::HttpError(403, "join refused: the challenge nonce is unknown, expired or already used (ask for a new one)");
  const auto& delegation = body.request.delegation;
  const auto status = wallet::verify_delegation(delegation, key, manifest_.run_id, unix_ms() / 1000);
  if (status != wallet::DelegationStatus::Valid)
    throw net::HttpError(403, "join refused: delegation " + std::string(wallet::describe(status)));
  // Only once the owner's signature verified, so nobody spends another owner's joins.
  take_token(joins_per_owner_, delegation.owner_address, "joins for this owner");
  admit_or_refuse(gate_, key, &delegation.owner_address);
  Peer peer;
  peer.node_key = key;
  peer.owner = delegation.owner_address;
  peer.endpoint = ReachabilityCheck::resolve(body.request.endpoint, seen);
  peer.relayed_by = body.request.relayed_by;
  if (!body.request.relay.empty()) peer.relay = ReachabilityCheck::resolve(body.request.relay, seen);
  if (reachability_) {
    reachability_->require_reachable(key, peer.endpoint, seen, peer.relayed_by);
    if (!peer.relay.empty()) reachability_->require_relay_answers(peer.relay, seen);
  }
  peer.device = body.request.device;
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
  nlohmann::json reply{{"stage", *stage},
                       {"stages", manifest_.stages},
                       {"run", manifest_.run_id},
                       {"endpoint", peer.endpoint},
                       {"address", protocol::plain_address(seen)},
                       {"reachability", reachability_ && reachability_->enabled() ? "checked" : "unchecked"}};
  if (assignments_) assignments_->add_to(reply, key, *stage);
  return reply;
}

protocol::PeerList MembershipController::peer_list() {
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
  protocol::PeerList list{manifest_.run_id, manifest_.stages, std::nullopt, {}, {}};
  for (const auto& [order, peer] : ready) {
    list.peers.push_back({peer.node_key, peer.endpoint, peer.stage, order, peer.device.name, peer.device.tokens_per_s});
    if (order != 0 && peer.stage == 0 && !list.driver) list.driver = peer.node_key;
  }
  return list;
}

void MembershipController::mount(httplib::Server& server) {
  namespace api = protocol::hub_api;
  server.Post(api::kChallenge, [this](const httplib::Request& request, httplib::Response& response) {
    take_token(challenges_per_address_, address_key(request.remote_addr), "challenges from this address");
    net::json_object_body(request, net::EmptyBody::IsEmptyObject);  // unused, but held to the rules of every body
    net::reply_json(response, 200, {{"nonce", wallet::to_hex(challenges_.issue())},
                                    {"run", manifest_.run_id},
                                    {"address", protocol::plain_address(request.remote_addr)}});
  });
  server.Post(api::kJoin, [this](const httplib::Request& request, httplib::Response& response) {
    take_token(joins_per_address_, address_key(request.remote_addr), "joins from this address");
    const auto joining = read_signed(verifier_, request, Replays::Refused, net::EmptyBody::Refused);
    take_token(joins_per_key_, wallet::to_hex(joining.sender), "joins by this node key");
    net::reply_json(response, 200,
                    join(joining.sender, protocol::join_body_from_json(joining.body), request.remote_addr));
  });
  server.Post(api::kEndpoint, [this](const httplib::Request& request, httplib::Response& response) {
    const auto moving = read_signed(verifier_, request, Replays::Refused);
    take_token(joins_per_key_, wallet::to_hex(moving.sender), "joins and address updates by this node key");
    admit_or_refuse(gate_, moving.sender, nullptr);
    const auto update = protocol::address_update_from_json(moving.body);
    const auto endpoint = ReachabilityCheck::resolve(update.endpoint, request.remote_addr);
    if (!directory_.find(moving.sender)) throw net::HttpError(404, "unknown peer: join again");
    if (reachability_) reachability_->require_reachable(moving.sender, endpoint, request.remote_addr, update.relayed_by);
    directory_.set_endpoint(moving.sender, endpoint, update.relayed_by);
    net::reply_json(response, 200, {{"endpoint", endpoint}});
  });
  server.Get(api::kRelays, [this](const httplib::Request&, httplib::Response& response) {
    directory_.expire(Clock::now(), heartbeat_timeout_);
    net::reply_json(response, 200, protocol::to_json(directory_.relays()));
  });
  server.Post(api::kReady, [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = read_signed(verifier_, request, Replays::Refused).sender;
    admit_or_refuse(gate_, key, nullptr);
    if (!directory_.heartbeat(key, Clock::now())) throw net::HttpError(404, "unknown peer: join again");
    roster_.mark_ready(key);
    net::reply_json(response, 200, {{"ready", true}});
  });
  server.Post(api::kHeartbeat, [this](const httplib::Request& request, httplib::Response& response) {
    const auto heartbeat = read_signed(verifier_, request, Replays::Refused);
    const auto& key = heartbeat.sender;
    if (gate_) {
      const auto owner = roster_.owner_of(key);
      admit_or_refuse(gate_, key, owner ? &*owner : nullptr);
    }
    if (!directory_.heartbeat(key, Clock::now())) throw net::HttpError(404, "unknown peer: join again");
    nlohmann::json reply{{"ok", true}};
    const auto peer = directory_.find(key);
    if (peer && assignments_) assignments_->add_to(reply, key, peer->stage);
    if (peer && traffic_) traffic_->record(key, peer->stage, heartbeat.body);
    if (peer && relay_credits_) relay_credits_->heartbeat(key, heartbeat.body);
    if (gate_) gate_->add_to_heartbeat(reply, key);
    net::reply_json(response, 200, reply);
  });
  server.Post(api::kLeave, [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = read_signed(verifier_, request, Replays::Refused).sender;
    directory_.remove(key);
    roster_.unready(key);
    net::reply_json(response, 200, {{"ok", true}});
  });
  server.Get(api::kPeers, [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = read_signed(verifier_, request, Replays::Harmless).sender;
    if (!directory_.find(key))
      throw net::HttpError(403, "the peer list is served to members of this run only (join first)");
    auto list = peer_list();
    if (seeds_ && store_)
      if (const auto seed = seeds_->next(*store_)) list.route_seed = seed->to_hex();
    net::reply_json(response, 200, protocol::to_json(list));
  });
}

}  // namespace tessera::hub
