// Where a member is reached, as the hub decides it (issue 18, "Addresses" and "Reachability"): an
// advertised endpoint with an unspecified host (0.0.0.0, ::) takes the address the hub sees the
// node connect from; before a stage is assigned (and when a member moves to another relay or
// mapping) the hub connects back and runs the CurveZMQ handshake against the node's key
// (net::probe_endpoint). The hub only knocks where the node itself is (its own address, or loopback
// when it connects from loopback) or on a listed relay's host: a stranger cannot make it probe
// arbitrary hosts. With a zero timeout nothing is probed (in-process tests, the local network).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/net/curve.h"
#include "core/net/reach_probe.h"
#include "core/protocol/node_address.h"
#include "core/wallet/signing.h"

namespace zmq {
class context_t;
}

namespace tessera::hub {

class PeerDirectory;

class ReachabilityCheck {
 public:
  // `directory` (must outlive this) names the relays a relayed endpoint may go through. With the
  // hub key (may be null) the probe connects as the hub, which nodes admit.
  ReachabilityCheck(const PeerDirectory& directory, std::chrono::milliseconds timeout,
                    const wallet::KeyPair* hub_key = nullptr);
  ~ReachabilityCheck();
  ReachabilityCheck(const ReachabilityCheck&) = delete;
  ReachabilityCheck& operator=(const ReachabilityCheck&) = delete;

  bool enabled() const { return timeout_.count() > 0; }

  // `advertised` with an unspecified host replaced by `seen` (the address the request came from).
  // Throws net::HttpError 400 when it is not tcp://host:port.
  static std::string resolve(const std::string& advertised, const std::string& seen);

  // Throws net::HttpError: 403 when the hub will not probe that host for this node (not where the
  // node connects from, nor the relay it names), 409 when the node does not answer there, with
  // the reason and what the user can do. Does nothing when disabled.
  void require_reachable(const wallet::PublicKey& node, const std::string& endpoint, const std::string& seen,
                         const std::optional<wallet::PublicKey>& relayed_by);
  // A relay's control port answers a TCP connection (same host rule: the relay's own address).
  void require_relay_answers(const std::string& relay_endpoint, const std::string& seen);

 private:
  void require_probe_allowed(const protocol::TcpEndpoint& endpoint, const std::string& seen,
                             const std::optional<wallet::PublicKey>& relayed_by) const;

  const PeerDirectory& directory_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<zmq::context_t> context_;
  std::optional<net::CurveKeyPair> identity_;
};

}  // namespace tessera::hub
