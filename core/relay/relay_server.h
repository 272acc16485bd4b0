// The relay: lets a node nobody can reach serve its CurveZMQ stage server through this one. The
// node (a RelayLink) keeps a control connection here, proves its node key by signing a challenge,
// and gets a public TCP port of its own; each peer connection to that port is announced to the
// node, which claims it over a new connection, and the two are spliced. The relay forwards the
// bytes as they are (ciphertext it cannot read) and counts them per node key, for crediting.
// Protocol: control_frame.h; limits and threads: docs/network.md "Relay (core/relay)".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/relay/splice.h"
#include "core/wallet/signing.h"

namespace tessera::relay {

struct RelayServerOptions {
  std::string bind_host = "0.0.0.0";
  std::uint16_t port = 0;   // the control port; 0: a free one
  std::string public_host;  // the host written into the endpoints handed out (required, IPv4/IPv6/DNS name)
  std::size_t max_clients = 64;
  std::size_t max_streams_per_client = 64;  // claimed and waiting to be claimed
  std::chrono::milliseconds claim_timeout{5000};
  std::chrono::milliseconds keepalive{5000};  // a client silent for two periods is dropped
  // Public ports: first..last when first is not 0, else a free one each.
  std::uint16_t public_port_first = 0;
  std::uint16_t public_port_last = 0;
  std::size_t max_handshakes = 256;               // connections not yet registered or claimed
  std::chrono::milliseconds handshake_timeout{5000};  // to answer the challenge or claim
};

class RelayServer {
 public:
  // Binds and serves on its own threads; throws std::runtime_error when it cannot bind and
  // std::invalid_argument for unusable options.
  explicit RelayServer(RelayServerOptions options);
  ~RelayServer();  // stops; closes every connection
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  std::uint16_t port() const;  // the control port
  // Per client node key, since start (kept after a client leaves).
  std::map<wallet::PublicKey, RelayedBytes> relayed() const;
  std::size_t clients() const;  // connected now

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::relay
