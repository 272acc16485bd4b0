// A home network for the port-mapping test, on NetworkLab (network_lab.h):
//
//   wan    198.51.100.2 on the internet               a host outside
//   router 198.51.100.1 (wan0), 192.0.2.1 (lan0)       NAT, miniupnpd when asked
//   home   192.0.2.2, default via 192.0.2.1            the node
//
// miniupnpd refuses to map when its WAN address is reserved (TEST-NET is) unless STUN tells it the
// public address; the lab's STUN responder answers with the router's own address, which miniupnpd
// then reports as the external address (198.51.100.1). Needs root, ip, nft and /usr/sbin/miniupnpd.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <atomic>

#include "network_lab.h"

namespace tessera::test {

inline constexpr const char* kRouterWanAddress = "198.51.100.1";
inline constexpr const char* kHomeAddress = kLanHostAddress;

class NatLab {
 public:
  // Builds the namespaces and, when asked, starts miniupnpd (waits until it listens). Throws
  // std::runtime_error naming the command that failed and what it printed.
  void start(bool with_miniupnpd);

  const std::string& wan() const { return wan_; }
  const std::string& router() const { return home_.router; }
  const std::string& home() const { return home_.host; }
  std::string miniupnpd_redirects() { return lab_->miniupnpd_redirects(home_); }
  std::string miniupnpd_log() { return lab_->miniupnpd_log(home_); }

 private:
  std::unique_ptr<NetworkLab> lab_;
  std::string wan_;
  NetworkLab::Home home_;
};

// Listens on 0.0.0.0:port in `netns` and echoes what each connection sends.
class EchoServer {
 public:
  EchoServer(const std::string& netns, std::uint16_t port);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

 private:
  void serve();
  sys::UniqueFd listener_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// From `netns`, connects to address:port, sends `message` and returns what comes back (the
// message itself through an EchoServer), or "error: …" saying why not. Every wait is 3 s at most.
std::string exchange(const std::string& netns, const std::string& address, std::uint16_t port,
                     const std::string& message);

}  // namespace tessera::test
