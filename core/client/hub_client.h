// The node's side of the hub API (core/protocol/hub_api.h): fetch and check the run manifest,
// join by answering a challenge with the node key and the owner's delegation, keep the place with
// signed ready, heartbeat and leave requests, read the peer list, report receipts and step
// progress. Knows the hub only through the protocol: no hub header is included here.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/wallet/signing.h"

namespace tessera::client {

// A hub that did not answer at all (as opposed to one that answered with an error).
struct HubUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the hub's last answers named, when it names them: this node's stage assignment (hex of a
// protocol::SignedStageAssignment, from join and heartbeat replies; empty when the hub signs none)
// and the step driver (from the peer list; `names_driver` false when the hub does not say, and
// `driver` empty when it says there is none).
struct HubNamed {
  std::string assignment;
  bool names_driver = false;
  std::optional<wallet::PublicKey> driver;
};

// Every call has a timeout and throws std::runtime_error with a message that says what failed
// ("hub http://… did not answer: …", "join refused: …"); a hub that did not answer throws
// HubUnreachable.
class HubClient {
 public:
  explicit HubClient(std::string url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  // The run manifest, checked against its publisher's signature.
  protocol::RunManifest manifest();
  // Proves the node key (challenge) and the delegation; returns the assigned stage.
  int join(const wallet::KeyPair& node_key, const protocol::JoinRequest& request);
  void ready(const wallet::KeyPair& node_key);
  // False when the hub no longer knows the node (it must join again).
  bool heartbeat(const wallet::KeyPair& node_key);
  void leave(const wallet::KeyPair& node_key);
  std::vector<protocol::PeerInfo> peers();
  // The hub's answer: {"accepted", "duplicates", "rejected"} (duplicates are not an error).
  nlohmann::json report_receipts(const wallet::KeyPair& node_key, const std::vector<protocol::SignedReceipt>& receipts);
  nlohmann::json receipt_summary();
  // The step driver reports each committed step (shown by demo and monitors).
  void report_progress(const wallet::KeyPair& node_key, const nlohmann::json& step);
  std::vector<nlohmann::json> progress(std::size_t since = 0);
  const std::string& url() const { return url_; }
  HubNamed named() const;

 private:
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json* body);
  void remember(const nlohmann::json& reply);  // the assignment or driver a reply names

  std::string url_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex named_mutex_;
  HubNamed named_;
};

}  // namespace tessera::client
