// The hub's reachability rules and probes.
#include "core/hub/reachability.h"

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "core/hub/peer_directory.h"
#include "core/net/curve.h"
#include "core/net/http_json.h"
#include "core/net/loopback_host.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {

ReachabilityCheck::ReachabilityCheck(const PeerDirectory& directory, std::chrono::milliseconds timeout,
                                     const wallet::KeyPair* hub_key)
    : directory_(directory), timeout_(timeout), context_(std::make_unique<zmq::context_t>(1)) {
  if (hub_key) identity_ = net::curve_keys_from(*hub_key);
}

ReachabilityCheck::~ReachabilityCheck() = default;

std::string ReachabilityCheck::resolve(const std::string& advertised, const std::string& seen) {
  auto endpoint = protocol::parse_tcp_endpoint(advertised);
  if (!endpoint) throw net::HttpError(400, "the endpoint must be tcp://host:port, not '" + advertised.substr(0, 80) + "'");
  if (protocol::is_unspecified_host(endpoint->host)) endpoint->host = protocol::plain_address(seen);
  return protocol::format_tcp_endpoint(*endpoint);
}

void ReachabilityCheck::require_probe_allowed(const protocol::TcpEndpoint& endpoint, const std::string& seen,
                                              const std::optional<wallet::PublicKey>& relayed_by) const {
  const auto from = protocol::plain_address(seen);
  if (relayed_by) {
    const auto relay = directory_.find(*relayed_by);
    const auto relay_endpoint = relay ? protocol::parse_tcp_endpoint(relay->relay) : std::nullopt;
    if (!relay_endpoint)
      throw net::HttpError(409, "unreachable: the relay " + wallet::to_hex(*relayed_by).substr(0, 16) +
                                    " is not a live relay of this run (ask GET /api/relays for another)");
    if (relay_endpoint->host != endpoint.host)
      throw net::HttpError(403, "a relayed endpoint must be on its relay's host (" + relay_endpoint->host + ")");
    return;
  }
  if (endpoint.host == from) return;
  if (net::is_loopback_host(from) && net::is_loopback_host(endpoint.host)) return;
  throw net::HttpError(403, "the hub checks endpoints only at the address the node connects from (" + from +
                                "), not at " + endpoint.host + ": advertise that address, a mapped port on it, or a relay");
}

void ReachabilityCheck::require_reachable(const wallet::PublicKey& node, const std::string& endpoint,
                                          const std::string& seen, const std::optional<wallet::PublicKey>& relayed_by) {
  if (!enabled()) return;
  const auto parsed = protocol::parse_tcp_endpoint(endpoint);
  if (!parsed) throw net::HttpError(400, "the endpoint must be tcp://host:port");
  require_probe_allowed(*parsed, seen, relayed_by);
  const auto result = net::probe_endpoint(*context_, net::curve_public_from(node), endpoint, timeout_,
                                          identity_ ? &*identity_ : nullptr);
  if (result.reachable) return;
  spdlog::info("node {} is not reachable at {}: {}", wallet::to_hex(node).substr(0, 16), endpoint, result.detail);
  throw net::HttpError(409, "unreachable: the hub could not reach this node at " + endpoint + " (" + result.detail +
                                "); forward TCP port " + std::to_string(parsed->port) +
                                " on your router, or let the node map a port or use a relay");
}

void ReachabilityCheck::require_relay_answers(const std::string& relay_endpoint, const std::string& seen) {
  if (!enabled()) return;
  const auto parsed = protocol::parse_tcp_endpoint(relay_endpoint);
  if (!parsed) throw net::HttpError(400, "field 'relay' must be tcp://host:port");
  require_probe_allowed(*parsed, seen, std::nullopt);
  if (const auto problem = net::tcp_connect_problem(parsed->host, parsed->port, timeout_))
    throw net::HttpError(409, "unreachable: the hub could not reach this node's relay port at " + relay_endpoint +
                                  " (" + *problem + ")");
}

}  // namespace tessera::hub
