// A home network in three network namespaces for the port-mapping test:
//
//   wan    198.51.100.2/24 (eth0)                        a host on the internet side, STUN server
//   router 198.51.100.1/24 (wan0), 192.0.2.1/24 (lan0)   forwards, masquerades LAN traffic out of
//                                                        wan0, drops other forwarded traffic unless
//                                                        miniupnpd opened it, runs miniupnpd
//   home   192.0.2.2/24 (eth0), default via 192.0.2.1    the node
//
// Names carry the test's PID; everything is removed in the destructor (miniupnpd killed by its
// PID, namespaces deleted), also after a failed check. Needs root, ip, nft and /usr/sbin/miniupnpd.
//
// miniupnpd refuses to map when its WAN address is reserved (TEST-NET is) unless STUN tells it the
// public address; the lab's STUN responder in `wan` answers with the router's own address, which
// miniupnpd then reports as the external address (198.51.100.1).
#pragma once

#include <QProcess>
#include <QStringList>
#include <QTemporaryDir>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/sys/unique_fd.h"

namespace tessera::test {

inline constexpr const char* kRouterWanAddress = "198.51.100.1";
inline constexpr const char* kHomeAddress = "192.0.2.2";

class NatLab {
 public:
  NatLab();
  ~NatLab();
  NatLab(const NatLab&) = delete;
  NatLab& operator=(const NatLab&) = delete;

  // Builds the namespaces and, when asked, starts miniupnpd (waits until it listens). Throws
  // std::runtime_error naming the command that failed and what it printed.
  void start(bool with_miniupnpd);

  const std::string& wan() const { return wan_; }
  const std::string& router() const { return router_; }
  const std::string& home() const { return home_; }
  std::string miniupnpd_redirects();  // miniupnpd's DNAT chain as nft lists it
  std::string miniupnpd_log();        // what miniupnpd printed so far

 private:
  void run(const QString& program, const QStringList& arguments);
  void build_namespaces();
  void start_stun_responder();
  void start_miniupnpd();
  void stun_loop(int fd);

  std::string wan_, router_, home_;
  std::vector<std::string> created_;
  QTemporaryDir directory_;
  std::unique_ptr<QProcess> miniupnpd_;
  std::string miniupnpd_output_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<sys::UniqueFd> stun_socket_;
  std::thread stun_thread_;
};

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) in the network namespace `netns`: made on a
// short-lived thread that joined the namespace, so this process's own threads stay where they are.
sys::UniqueFd socket_in(const std::string& netns, int type);

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
