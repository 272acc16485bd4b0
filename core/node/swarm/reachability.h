// How peers reach this node (issue 18, DESIGN.md "Network"). Joining tries, in turn:
//   1. direct: the stage server's port at the address the hub sees (or --advertise);
//   2. port mapping: if the hub could not reach that (409), a TCP mapping on the home router
//      (UPnP-IGD, then NAT-PMP; nat::PortMapper renews it and removes it on exit);
//   3. relay: else a relay the hub lists (relay::RelayLink keeps an outbound connection to it and
//      splices each peer's connection to the local stage server; CurveZMQ stays end to end).
// A relay that disappears is replaced by another one the hub lists, and the hub is told the new
// endpoint (POST /api/endpoint), without leaving the run. With --relay the node also offers to
// relay (relay::RelayServer); what it relays, and what this node had relayed, go in its heartbeats
// for credit. The outcome is shown in the status ("reachability").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/control/node_status.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/signing.h"

namespace tessera::nat {
class PortMapper;
}
namespace tessera::relay {
class RelayLink;
class RelayServer;
}  // namespace tessera::relay

namespace tessera::node::swarm {

struct ReachOptions {
  std::string advertise;        // tcp://host:port peers should use; empty: the hub's view of this node
  bool map_port = true;         // ask the router for a mapping when the hub cannot reach the node
  bool use_relays = true;       // else go through a relay the hub lists
  int relay_port = -1;          // offer to relay on this TCP port (0: any free one); -1: do not relay
  bool via_relay = false;       // always through a relay, waiting up to a minute for one to be listed
                                // (the relay benchmark; a hidden option of `run`)
};

class Reachability {
 public:
  Reachability(ReachOptions options, const wallet::KeyPair& node_key);
  ~Reachability();  // closes the relay link and server, removes the port mapping

  // Starts the relay server when offering one (on the stage server's host), and fills the
  // request's relay field.
  void offer_relay(protocol::JoinRequest& request, const std::string& bound_endpoint);
  // Joins through `hub` with `request`, its endpoint the stage server's bound one, trying each way
  // in turn; returns the stage. Throws what HubClient::join throws when every way failed (the last
  // refusal, with what was tried).
  int join(client::HubClient& hub, protocol::JoinRequest& request, const std::string& bound_endpoint);
  // Joins again where this node is reached now (the hub forgot it); the whole sequence again when
  // the hub cannot reach it there any more.
  int rejoin(client::HubClient& hub, protocol::JoinRequest& request, const std::string& bound_endpoint);
  // Called by the hub thread every heartbeat: a lost relay is replaced.
  void maintain(client::HubClient& hub);
  // The heartbeat's relay fields: {"relay_served": [{"client", "bytes"}...]} and
  // {"relayed": {"via", "bytes"}}; an empty object when neither applies.
  nlohmann::json heartbeat_fields() const;
  void fill(control::NodeStatus& out) const;

 private:
  int join_locked(client::HubClient& hub, protocol::JoinRequest& request, const std::string& bound_endpoint);
  int try_join(client::HubClient& hub, protocol::JoinRequest& request, const std::string& how, std::string detail);
  std::optional<int> join_through_mapping(client::HubClient& hub, protocol::JoinRequest& request);
  int join_only_through_relay(client::HubClient& hub, protocol::JoinRequest& request);
  std::optional<int> join_through_relay(client::HubClient& hub, protocol::JoinRequest& request);
  // A link to one of the hub's relays (not `avoid`); the endpoint peers use through it.
  std::optional<std::string> open_relay(client::HubClient& hub, const std::optional<wallet::PublicKey>& avoid);
  void set(std::string how, std::string endpoint, std::string detail);

  ReachOptions options_;
  const wallet::KeyPair& key_;
  std::uint16_t local_port_ = 0;
  std::string local_host_;  // where relayed streams are spliced to: the stage server
  std::unique_ptr<nat::PortMapper> mapper_;
  std::unique_ptr<relay::RelayLink> link_;
  std::optional<wallet::PublicKey> relay_key_;
  std::unique_ptr<relay::RelayServer> relay_server_;
  // The link, mapping and relay key: the hub thread's maintain() and heartbeat_fields(), the node
  // thread's join() and rejoin().
  mutable std::mutex links_mutex_;
  mutable std::mutex mutex_;  // the status fields below
  std::string how_, endpoint_, detail_;
};

}  // namespace tessera::node::swarm
