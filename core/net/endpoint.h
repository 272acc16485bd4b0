// Encrypted, authenticated message exchange between nodes: a Server (ROUTER) that many peers
// talk to and a Client (DEALER) that talks to one server. Every socket uses CurveZMQ; every call
// takes a timeout, so no call waits forever on a peer; malformed messages are dropped and counted.
// With a TrafficMeter, every message's bytes as the connection carries them are counted by kind
// (a malformed or dropped one as received control).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/net/curve.h"
#include "core/net/traffic_meter.h"
#include "core/net/wire.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace tessera::net {

using Timeout = std::chrono::milliseconds;

struct Message {
  MessageHeader header;
  std::vector<std::uint8_t> payload;
};

struct Incoming {
  std::string routing_id;  // where a reply goes
  CurvePublicKey peer{};   // the sender's network key, as the ZAP handler admitted it
  Message message;
};

struct LinkStats {
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  std::uint64_t malformed = 0;  // dropped: bad frames, header or payload
};

class Server {
 public:
  // `address` like "tcp://127.0.0.1:0" (0 picks a free port). Requires a ZapHandler on `context`.
  // `traffic` (may be null: nothing is counted) must outlive the server.
  Server(zmq::context_t& context, const CurveKeyPair& identity, const std::string& address, WireLimits limits = {},
         TrafficMeter* traffic = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::string endpoint() const;  // the bound address, with the real port
  // The next well-formed message, or nothing once `timeout` has passed.
  std::optional<Incoming> receive(Timeout timeout);
  bool reply(const Incoming& to, const MessageHeader& header, std::span<const std::uint8_t> payload, Timeout timeout);
  const LinkStats& stats() const { return stats_; }
  // The ZeroMQ socket, for zmq_poll together with other sockets (then receive with a zero timeout).
  void* poll_handle() const;

 private:
  std::unique_ptr<zmq::socket_t> socket_;
  WireLimits limits_;
  LinkStats stats_;
  TrafficMeter* traffic_;
};

class Client {
 public:
  Client(zmq::context_t& context, const CurveKeyPair& identity, const CurvePublicKey& server_key,
         const std::string& endpoint, WireLimits limits = {}, TrafficMeter* traffic = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `hash`, when given, receives the payload's BLAKE2b-256 as the header carries it (computed
  // once, so a caller that needs it for a receipt does not hash the payload again).
  bool send(const MessageHeader& header, std::span<const std::uint8_t> payload, Timeout timeout,
            PayloadHash* hash = nullptr);
  std::optional<Message> receive(Timeout timeout);
  // send + receive; nothing when either times out.
  std::optional<Message> request(const MessageHeader& header, std::span<const std::uint8_t> payload, Timeout timeout);
  const LinkStats& stats() const { return stats_; }
  void* poll_handle() const;  // as Server::poll_handle

 private:
  std::unique_ptr<zmq::socket_t> socket_;
  WireLimits limits_;
  LinkStats stats_;
  TrafficMeter* traffic_;
};

}  // namespace tessera::net
