// The unreachable node's side of the relay: keeps one control connection to a RelayServer, proves
// the node key on it, and is given a public endpoint. Each peer that connects there is announced;
// the link claims it over a new connection to the relay and splices it with a new connection to
// the local stage server, so CurveZMQ runs end to end between the peer and the stage server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/relay/splice.h"
#include "core/wallet/signing.h"

namespace tessera::relay {

struct RelayLinkOptions {
  std::chrono::milliseconds connect_timeout{5000};  // also bounds the relay's answers
  std::chrono::milliseconds keepalive{5000};        // a relay silent for two periods is lost
  std::size_t max_streams = 256;                    // streams spliced at once; more announcements are ignored
};

class RelayLink {
 public:
  // Connects, proves node_key, gets the public port; splices every stream to local_host:local_port.
  // Throws std::runtime_error with a clear message when the relay cannot be reached or refuses.
  RelayLink(const std::string& relay_host, std::uint16_t relay_port, const wallet::KeyPair& node_key,
            std::string local_host, std::uint16_t local_port, RelayLinkOptions options = {});
  ~RelayLink();  // closes the control connection and every stream
  RelayLink(const RelayLink&) = delete;
  RelayLink& operator=(const RelayLink&) = delete;

  std::string public_endpoint() const;  // "tcp://<public_host>:<port>" ("tcp://[v6]:port" for IPv6)
  bool alive() const;                   // false once the control connection is lost
  std::string failure() const;          // why it is not alive, in words
  RelayedBytes bytes() const;           // what this link carried

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::relay
