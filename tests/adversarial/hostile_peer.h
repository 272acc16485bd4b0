// A hostile member of a run, written against the project's real client classes so that protocol
// changes reach it: it makes a fresh wallet (owner key) and node key, signs its own delegation,
// joins through client::HubClient like any node (anyone may), keeps its place with heartbeats on
// a thread, and talks to honest nodes over CurveZMQ with its own node key (net::Client) and the
// typed messages of core/net/swarm_messages.h, or with any bytes it likes under a valid header.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/wallet/signing.h"

namespace zmq {
class context_t;
}

namespace tessera::adversarial {

using Millis = std::chrono::milliseconds;

// An endpoint nobody listens on: a member that never means to serve.
inline constexpr char kNowhere[] = "tcp://127.0.0.1:9";

class HostilePeer {
 public:
  explicit HostilePeer(std::string hub_url, Millis timeout = Millis(5000));
  ~HostilePeer();  // stops the heartbeats; does not leave (an attacker need not)
  HostilePeer(const HostilePeer&) = delete;
  HostilePeer& operator=(const HostilePeer&) = delete;

  // Challenge and join with a fresh delegation; the stage the hub assigned. Starts heartbeats
  // unless told not to (a flood of joins that should expire). Throws what HubClient throws when
  // the hub refuses.
  int join(const std::string& endpoint = kNowhere, bool keep_alive = true);
  void ready();
  void leave();
  bool heartbeat();
  // The run's members as a member sees them (endpoints, stages, node keys).
  std::vector<protocol::PeerInfo> peers();
  const protocol::RunManifest& manifest();

  const wallet::KeyPair& key() const { return key_; }
  const std::string& owner() const { return owner_address_; }
  int stage() const { return stage_; }
  client::HubClient& hub() { return *hub_; }
  // Which hub this peer talks to: a RecordingProxy in front of the hub, for the HTTP attacks.
  void use_hub(const std::string& url) { hub_.emplace(url, timeout_); }

  // The attacker claims credit for receipts it collected from honest nodes: the number the hub
  // accepted (0 also when it refused the batch outright).
  std::uint64_t claim_credit(const std::vector<protocol::SignedReceipt>& receipts);

 private:
  void stop_heartbeats();

  wallet::KeyPair owner_key_;
  wallet::KeyPair key_;
  std::string owner_address_;
  std::string hub_url_;
  Millis timeout_;
  std::optional<client::HubClient> hub_;  // replaced by use_hub (HubClient is not assignable)
  std::optional<protocol::RunManifest> manifest_;
  int stage_ = -1;
  std::atomic<bool> beating_{false};
  std::thread heartbeats_;
};

// An honest node as an attacker addresses it.
struct Target {
  wallet::PublicKey key{};
  std::string endpoint;
  int stage = 0;
};
std::vector<Target> targets(const std::vector<protocol::PeerInfo>& peers, const wallet::PublicKey& except);

// A reply as it came: its header, and its envelope when it is one.
struct Answer {
  net::MessageHeader header;
  std::optional<net::Envelope> envelope;
  net::MessageKind kind() const { return header.kind; }
};

// What a run's messages need to look valid: its id, codec and model.
struct RunShape {
  std::string run_id;
  std::uint8_t codec = 0;
  int stages = 0, width = 0, context = 0, vocab = 0, micro_batch = 0;
  static RunShape of(const protocol::RunManifest& manifest);
};

// One CurveZMQ connection from a hostile key to one honest node's stage server.
class NodeLink {
 public:
  NodeLink(zmq::context_t& context, const wallet::KeyPair& identity, Target target, RunShape run);
  ~NodeLink();
  NodeLink(const NodeLink&) = delete;
  NodeLink& operator=(const NodeLink&) = delete;

  // Pings until the node admits this key (its allowlist follows the hub's peer list about twice
  // a second, and ZeroMQ does not retry a refused handshake, so each try is a new connection).
  bool admitted(Millis deadline);
  // The node's step, from a Pong (nothing when it does not tell this key).
  std::optional<std::uint64_t> step();
  // The node answers a Ping with anything at all (a Pong, or an Error if it refuses this key's).
  bool answers();

  // A header of this run for the target's stage (or `stage`).
  net::MessageHeader header(net::MessageKind kind, std::uint64_t step = 0, int stage = -1) const;
  // Sends `message` with a fresh request id and waits for the reply to that id.
  std::optional<Answer> ask(const net::MessageHeader& header, net::Envelope message, Millis timeout);
  // Sends `message` with a fresh request id without waiting (collect the replies with drain()).
  bool post(const net::MessageHeader& header, net::Envelope message);
  // Sends any payload under a header whose length and hash match it.
  bool post_raw(const net::MessageHeader& header, std::span<const std::uint8_t> payload);
  // Every reply that arrives until `quiet` passes without one (or `limit` passes).
  std::vector<Answer> drain(Millis quiet, Millis limit = Millis(30000));

  const Target& target() const { return target_; }
  const RunShape& run() const { return run_; }

 private:
  void connect();

  zmq::context_t& context_;
  net::CurveKeyPair identity_;
  Target target_;
  RunShape run_;
  std::unique_ptr<net::Client> client_;
  std::uint64_t next_request_ = 1;
};

// Messages an attacker makes with the project's own encoders.
net::Envelope ping();
net::Envelope forward(std::uint64_t attempt, const wallet::PublicKey& from, const RunShape& run, int target_stage,
                      const std::vector<net::Hop>& route);
net::Envelope infer(const RunShape& run, int target_stage, const std::vector<net::Hop>& route);
// The shape a boundary payload has for `run` (batch × sequence × width), for headers.
std::vector<std::uint64_t> boundary_shape(const RunShape& run, int batch, int sequence);
// The route after `stage`: one honest node per later stage.
std::vector<net::Hop> route_after(const std::vector<Target>& honest, int stage, int stages);
// The receipts in a Backward reply (the forward receipt the node signed for the sender).
std::vector<protocol::SignedReceipt> receipts_in(const Answer& answer);

}  // namespace tessera::adversarial
