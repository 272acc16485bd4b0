// The node's side of the hub API (core/protocol/hub_api.h): fetch and check the run manifest,
// join by answering a challenge with a signed request carrying the owner's delegation, keep the
// place with signed ready, heartbeat and leave requests, read the peer list (a signed request:
// the hub serves it to members only), report receipts and step progress. Every signed request
// carries its signature in headers over the exact body bytes sent. Reads what the hub counts of a
// node's work (public). Knows the hub only through the protocol: no hub header is included here.
// The hub is reached through a HubEndpoint (hub_http.h): a run link, https://, or loopback
// http://; over HTTPS nothing but the manifest and the certificate binding is fetched before the
// hub's certificate is trusted.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/client/hub_http.h"
#include "core/client/node_work.h"
#include "core/net/traffic_meter.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/node_address.h"
#include "core/protocol/receipt.h"
#include "core/protocol/spot_check.h"
#include "core/protocol/step_record.h"
#include "core/wallet/delegation.h"
#include "core/wallet/signing.h"

namespace tessera::client {

// The hub refused this node (403 "excluded from this run: <reason>"): a spot check failed or its
// replicas disagreed. Joining this run again is refused too; the node may join another run.
struct HubExcluded : std::runtime_error {
  HubExcluded(const std::string& message, std::string why) : std::runtime_error(message), reason(std::move(why)) {}
  std::string reason;  // the hub's words after "excluded from this run: "
};

// A hub that answered with an error status: `explained` when it said why ({"error": …}); a 404
// without a reason is a path the hub does not serve (an older hub).
struct HubRefused : std::runtime_error {
  HubRefused(const std::string& message, int http_status, bool hub_explained)
      : std::runtime_error(message), status(http_status), explained(hub_explained) {}
  bool unknown_path() const { return status == 404 && !explained; }
  int status;
  bool explained;
};

// What the hub's last answers named, when it names them: this node's stage assignment (hex of a
// protocol::SignedStageAssignment, from join and heartbeat replies; empty when the hub signs none)
// and the step driver (from the peer list; `names_driver` false when the hub does not say, and
// `driver` empty when it says there is none).
struct HubNamed {
  std::string assignment;
  bool names_driver = false;
  std::optional<wallet::PublicKey> driver;
  std::string endpoint{};  // where the hub says peers reach this node (the last join's or address update's reply)
  std::string address{};   // the address the hub saw this node's last join come from
  std::string reachability{};  // the last join's: "checked" (the hub connected back) or "unchecked"
};

// Every call has a timeout and throws std::runtime_error with a message that says what failed
// ("hub http://… did not answer: …", "hub refused /api/join: …"); a hub that did not answer throws
// HubUnreachable, one that excluded this node throws HubExcluded, one whose run or certificate is
// not the one asked for throws HubUntrusted. Thread-safe.
class HubClient {
 public:
  // `address`: a run link, an https:// URL or an http:// URL to loopback (std::invalid_argument
  // otherwise, without any connection). Each request's and reply's bytes are counted into
  // `traffic` (may be null; must outlive this) as control traffic.
  explicit HubClient(std::string address, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                     net::TrafficMeter* traffic = nullptr);

  // The run manifest, checked against the link's publisher and run (without a link, against its
  // own publisher's signature).
  protocol::RunManifest manifest();
  // Proves the node key (a signed join carrying a fresh challenge) and the delegation; returns the
  // assigned stage.
  int join(const wallet::KeyPair& node_key, const protocol::JoinRequest& request);
  void ready(const wallet::KeyPair& node_key);
  // Tells the hub this member is reached elsewhere now (it checks the endpoint as at join); returns
  // the endpoint as the hub records it. Throws HubRefused (409: not reachable there).
  std::string update_endpoint(const wallet::KeyPair& node_key, const protocol::AddressUpdate& update);
  // The members that offer to relay, fewest clients first (public).
  std::vector<protocol::RelayInfo> relays();
  // False when the hub no longer knows the node (it must join again). With `traffic`, the body
  // carries the node's latest report: {"traffic": TrafficSnapshot::to_json(), "tokens": n}.
  // `extra` (an object) adds its fields to the body (a relay's and a relayed node's byte counts).
  bool heartbeat(const wallet::KeyPair& node_key, const net::TrafficReport* traffic = nullptr,
                 const nlohmann::json& extra = nlohmann::json::object());
  void leave(const wallet::KeyPair& node_key);
  // The live peers, oldest ready first (served to members only).
  std::vector<protocol::PeerInfo> peers(const wallet::KeyPair& node_key);
  // The same with the run and the step driver the hub names.
  protocol::PeerList peer_list(const wallet::KeyPair& node_key);
  // The hub's answer: {"accepted", "duplicates", "rejected"} (duplicates are not an error).
  nlohmann::json report_receipts(const wallet::KeyPair& node_key, const std::vector<protocol::SignedReceipt>& receipts);
  nlohmann::json receipt_summary();
  // Spot checks (core/protocol/spot_check.h). The weights digests of this node's stage at the
  // start of steps, in one POST /api/weights (at most 64; nothing is sent for none), and a
  // checker's report (POST /api/checks).
  struct WeightsDigest {
    std::uint64_t step = 0;
    protocol::PayloadDigest digest{};
  };
  void report_weights(const wallet::KeyPair& node_key, int stage, const std::vector<WeightsDigest>& reports);
  void report_check(const wallet::KeyPair& node_key, const protocol::CheckReport& report);
  // The check tickets (hex) the hub's heartbeat replies handed this node since the last call
  // (key "checks"; at most kMaxPendingChecks are kept, the oldest dropped first). Unverified: the
  // checker verifies each.
  static constexpr std::size_t kMaxPendingChecks = 64;
  std::vector<std::string> take_checks();
  // The step driver reports each committed step (shown by demo and monitors).
  void report_progress(const wallet::KeyPair& node_key, const nlohmann::json& step);
  // The step driver's signed record of a committed step with its progress figures (POST
  // /api/steps); returns the hex of the hub's route seed for the next step, nothing when the hub
  // signs none. Throws HubRefused when the hub refuses (HubRefused::unknown_path: it has no such
  // route) and HubUnreachable when it does not answer.
  std::optional<std::string> report_step(const wallet::KeyPair& node_key, const protocol::SignedStepRecord& record,
                                         const nlohmann::json& progress);
  std::vector<nlohmann::json> progress(std::size_t since = 0);
  // What the hub counts of `node`'s work, newest epoch first (GET /api/work?node=<hex>, public;
  // unsigned). Throws std::runtime_error when the reply is larger than kMaxWorkReplyBytes or
  // malformed (node_work.h).
  NodeWork work(const wallet::PublicKey& node);
  // Data shards (protocol/data_shard.h, docs/data.md). A proposal of `bytes` to the run, signed by
  // the node key with its owner's delegation; answers the hub's {"hash", "bytes", "contributor",
  // "state"}. Throws HubRefused (400: the bytes do not match; 429: too many).
  nlohmann::json propose_shard(const wallet::KeyPair& node_key, const wallet::Delegation& delegation,
                               const std::string& bytes);
  // An accepted shard's bytes from `offset` on (HTTP Range), handed to `receive` as they arrive
  // (false from it stops the download); answers the shard's whole size. Throws HubRefused (404: the
  // hub has no such shard), HubUnreachable, or std::runtime_error for a cut or malformed answer.
  using ShardReceiver = std::function<bool(const char* data, std::size_t size)>;
  std::uint64_t download_shard(const std::string& hash, std::uint64_t offset, const ShardReceiver& receive);
  const std::string& url() const { return url_; }  // scheme://host:port
  // Where the hub is and what trusts it; share it (StatementSync) so the pin is made once.
  std::shared_ptr<HubEndpoint> endpoint() const { return endpoint_; }
  HubNamed named() const;
  // The route seed the last peer list named: hex of a protocol::SignedRouteSeed for the step after
  // the last committed one, unverified (whoever uses it checks it); empty when it named none.
  std::string listed_route_seed() const;

 private:
  // `signer` null: an unsigned request. `body` is sent as it is (and signed as it is).
  // `max_reply_bytes` non-zero: a longer reply is refused, and the reply is parsed with the
  // nesting bounded (core/sys/bounded_json.h).
  // `extra` adds headers and names the body's content type (null: none, JSON).
  struct Extra {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string content_type = "application/json";
  };
  nlohmann::json call(const std::string& method, const std::string& path, const std::string& body,
                      const wallet::KeyPair* signer, std::size_t max_reply_bytes = 0, const Extra* extra = nullptr);
  nlohmann::json signed_post(const std::string& path, const nlohmann::json& body, const wallet::KeyPair& signer);
  // The run id every signature binds: from the challenge or the manifest, fetched once.
  std::string run_id();
  void remember(const nlohmann::json& reply);  // the assignment or driver a reply names
  void remember_checks(const nlohmann::json& reply);  // the check tickets a heartbeat reply hands

  std::shared_ptr<HubEndpoint> endpoint_;
  std::string url_;
  std::chrono::milliseconds timeout_;
  net::TrafficMeter* traffic_;
  std::mutex run_mutex_;
  std::string run_id_;
  mutable std::mutex named_mutex_;
  HubNamed named_;
  std::vector<std::string> checks_;  // under named_mutex_
  std::string listed_route_seed_;
};

}  // namespace tessera::client
