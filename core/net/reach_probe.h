// Whether a node's advertised stage endpoint can be reached from here: connect to it and run the
// CurveZMQ handshake against the node's network key. The server's WELCOME is boxed with the
// secret of that key, so a handshake that gets as far as the server's answer (accepted, or refused
// by its ZAP allowlist, which the probe's throw-away key is not on) proves that whoever listens
// there holds the node's key, not just that some port is open. Used by the hub before it assigns
// a stage (issue 18, "Reachability").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/net/curve.h"

namespace zmq {
class context_t;
}

namespace tessera::net {

struct ReachResult {
  bool reachable = false;
  std::string detail;  // why not, in words ("connection refused", "no answer within 3 s", …)
};

// Bounded by `timeout`. The endpoint is a ZeroMQ TCP endpoint: tcp://host:port or tcp://[v6]:port.
// `identity`: the key the probe connects with (the hub's, which nodes admit, so the check leaves no
// refusal in their logs); null: a throw-away key.
ReachResult probe_endpoint(zmq::context_t& context, const CurvePublicKey& server_key, const std::string& endpoint,
                           std::chrono::milliseconds timeout, const CurveKeyPair* identity = nullptr);

// Nothing when a TCP connection to host:port completes within `timeout`; else why not. For ports
// that speak something other than ZeroMQ (a relay's control port).
std::optional<std::string> tcp_connect_problem(const std::string& host, std::uint16_t port,
                                               std::chrono::milliseconds timeout);

}  // namespace tessera::net
