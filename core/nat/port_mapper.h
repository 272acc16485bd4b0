// Port mapping on the home router: a node behind NAT asks its router to forward one TCP port to
// it, with UPnP-IGD first and NAT-PMP second (as Bitcoin Core and libtorrent do), keeps the
// mapping alive by renewing it at half its lifetime, and removes it when it goes. Every wait is
// bounded, so a network without such a router costs a few seconds, never a hang.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace tessera::nat {

enum class MappingProtocol { upnp_igd, nat_pmp };
std::string_view to_string(MappingProtocol);  // "UPnP-IGD", "NAT-PMP"

struct Mapping {
  MappingProtocol protocol{};
  std::string external_address{};  // the router's WAN address as it reports it (IPv4 text)
  std::uint16_t external_port = 0;
  std::uint16_t internal_port = 0;
  std::string internal_address{};   // this host's LAN address the mapping points at
  std::chrono::seconds lifetime{};  // 0: permanent (UPnP routers that refuse leases)
};

struct PortMapperOptions {
  std::chrono::milliseconds discover_timeout{2000};  // SSDP discovery / NAT-PMP answer wait
  std::chrono::seconds lease{3600};
  bool try_upnp = true;
  bool try_natpmp = true;
  std::string description = "Tessera node";
  // A router whose WAN address is private or reserved sits behind another NAT (double NAT,
  // carrier-grade NAT): a mapping on it would not make the node reachable, so it is refused unless
  // this is set (tests, whose routers have TEST-NET WAN addresses).
  bool allow_reserved_external_address = false;
};

class MappingClient;

// Owns one TCP mapping; thread-safe. map() and remove() talk to the router (seconds at most);
// current() and last_error() never wait on the network.
class PortMapper {
 public:
  explicit PortMapper(std::uint16_t internal_port, PortMapperOptions options = {});
  ~PortMapper();  // removes the mapping it holds (best effort, bounded time)
  PortMapper(const PortMapper&) = delete;
  PortMapper& operator=(const PortMapper&) = delete;

  // UPnP-IGD first, then NAT-PMP; prefers external port == internal port, else any. On success a
  // thread renews the mapping at half its lifetime. Returns the held mapping when one is held.
  std::optional<Mapping> map();
  std::optional<Mapping> current() const;  // nothing when none is held (also after a renewal failed)
  std::string last_error() const;          // why the last map() or renewal failed, in words
  void remove();

 private:
  void renew_loop();
  bool renew_once();
  void stop_renewer();
  void set_failure(std::string error);
  std::chrono::seconds renew_interval() const;

  const std::uint16_t internal_port_;
  const PortMapperOptions options_;

  // map() and remove() one at a time; each stops the renewer before it touches client_, and only
  // map() starts it again, so client_ has one user at a time.
  std::mutex lifecycle_mutex_;
  std::unique_ptr<MappingClient> client_;  // the router that granted the mapping

  mutable std::mutex state_mutex_;  // what current() and last_error() read
  std::optional<Mapping> mapping_;  // held now
  std::optional<Mapping> granted_;  // last granted by the router, renewed and removed even after a failed renewal
  std::string last_error_;
  bool stopping_ = false;
  std::condition_variable stop_signal_;
  std::thread renewer_;
};

}  // namespace tessera::nat
