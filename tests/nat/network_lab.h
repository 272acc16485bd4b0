// A small internet in network namespaces, for the tests of issue 18 (nodes on separate hosts,
// homes behind NAT routers):
//
//   switch   bridge br0 at 198.51.100.254/24: the internet; answers STUN (RFC 5389 binding) on
//            UDP 3478 with the sender's address, which is how miniupnpd learns its public address
//   hosts    add_host(name, address): eth0 on the bridge at address/24
//   homes    add_home(name, router_address, upnp): a router (wan0 on the bridge at
//            router_address, lan0 at 192.0.2.1/24; forwards, masquerades the LAN out of wan0,
//            drops other forwarded traffic unless miniupnpd opened it) and a host behind it at
//            192.0.2.2/24 (default route via the router); with `upnp`, miniupnpd (UPnP-IGD and
//            NAT-PMP) runs on the router.
//
// Namespace names carry the test's PID; everything is removed in the destructor (miniupnpd killed
// by its PID, namespaces deleted), also after a failed check. Needs root, ip, nft and, for upnp,
// /usr/sbin/miniupnpd. Methods throw std::runtime_error naming the command that failed.
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

inline constexpr const char* kLanRouterAddress = "192.0.2.1";
inline constexpr const char* kLanHostAddress = "192.0.2.2";

class NetworkLab {
 public:
  struct Home {
    std::string router;  // the router's namespace
    std::string host;    // the home host's namespace
    std::string router_address;
    std::size_t miniupnpd = SIZE_MAX;  // index into miniupnpd_ when it runs one
  };

  explicit NetworkLab(std::string tag);
  ~NetworkLab();
  NetworkLab(const NetworkLab&) = delete;
  NetworkLab& operator=(const NetworkLab&) = delete;

  // The namespace of a new host on the internet at `address` (198.51.100.x).
  std::string add_host(const std::string& name, const std::string& address);
  Home add_home(const std::string& name, const std::string& router_address, bool upnp);

  std::string miniupnpd_log(const Home& home);         // what its miniupnpd printed so far
  std::string miniupnpd_redirects(const Home& home);   // its DNAT chain as nft lists it

  // Runs `program` in `netns` to its end (10 s at most); throws when it fails.
  void run(const QString& program, const QStringList& arguments);

 private:
  std::string make_namespace(const std::string& name);
  std::string plug(const std::string& netns, const std::string& device, const std::string& address);
  void start_stun_responder();
  void stun_loop(int fd);
  void start_miniupnpd(Home& home);

  std::string tag_;
  std::string switch_;
  int next_link_ = 0;
  std::vector<std::string> created_;
  QTemporaryDir directory_;
  std::vector<std::unique_ptr<QProcess>> miniupnpd_;
  std::vector<std::string> miniupnpd_output_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<sys::UniqueFd> stun_socket_;
  std::thread stun_thread_;
};

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) in the network namespace `netns`: made on a
// short-lived thread that joined the namespace, so this process's own threads stay where they are.
sys::UniqueFd socket_in(const std::string& netns, int type);

}  // namespace tessera::test
