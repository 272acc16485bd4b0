// Who is who in the run, as this node last heard from its hub: the step driver, each listed peer's
// stage by the CurveZMQ key its requests are authenticated with, the hub's own key, and this
// node's stage assignment. The hub thread updates it after every peer list; the stage server and
// the step driver read it. The driver is the one the hub names in its peer list; until a hub names
// one, the oldest ready replica of stage 0 (the hub lists ready peers oldest first), so every node
// and the driver itself agree on it from the same list.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/client/hub_client.h"
#include "core/net/curve.h"
#include "core/protocol/hub_api.h"

namespace tessera::node::swarm {

class PeerRoles {
 public:
  struct Listed {
    wallet::PublicKey node_key{};
    int stage = 0;
    bool ready = false;
  };

  // The step driver by `peers` and what the hub named (its choice, when it makes one).
  static std::optional<wallet::PublicKey> step_driver(const std::vector<protocol::PeerInfo>& peers,
                                                      const client::HubNamed& named);

  void set_hub(const wallet::PublicKey& hub_key);
  // Returns the curve keys of `peers` (what the ZAP allowlist admits). A key is converted once,
  // when it first appears in the list (a conversion costs about as much as a signature check).
  std::set<net::CurvePublicKey> update(const std::vector<protocol::PeerInfo>& peers, const client::HubNamed& named);

  std::optional<wallet::PublicKey> driver() const;
  bool is_driver(const net::CurvePublicKey& peer) const;
  bool is_hub(const net::CurvePublicKey& peer) const;
  std::optional<Listed> listed(const net::CurvePublicKey& peer) const;
  // Hex of this node's hub-signed assignment; empty when its hub signs none.
  std::string assignment() const;

 private:
  mutable std::mutex mutex_;
  std::optional<wallet::PublicKey> driver_;
  std::optional<net::CurvePublicKey> driver_curve_;
  std::optional<net::CurvePublicKey> hub_curve_;
  std::map<net::CurvePublicKey, Listed> listed_;
  std::map<wallet::PublicKey, std::optional<net::CurvePublicKey>> curves_;  // of the listed keys
  std::string assignment_;
};

}  // namespace tessera::node::swarm
