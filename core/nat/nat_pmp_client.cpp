// NAT-PMP through libnatpmp, to the default gateway. libnatpmp retries with doubling waits for a
// minute; here every request is cut off after discover_timeout (select() on the request's own
// retry time, clamped to what is left).
#include <arpa/inet.h>
#include <natpmp.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <spdlog/fmt/fmt.h>

#include "core/nat/address_class.h"
#include "core/nat/mapping_client.h"

namespace tessera::nat {
namespace {

using Clock = std::chrono::steady_clock;

std::string ipv4_text(in_addr address) {
  std::array<char, INET_ADDRSTRLEN> text{};
  return inet_ntop(AF_INET, &address, text.data(), text.size()) ? text.data() : "?";
}

std::string describe_natpmp_error(int code) {
  switch (code) {
    case NATPMP_ERR_NOTAUTHORIZED: return "the router refused (NAT-PMP is disabled or not allowed for this host)";
    case NATPMP_ERR_NETWORKFAILURE: return "the router has no internet connection";
    case NATPMP_ERR_OUTOFRESOURCES: return "the router has no free mapping left";
    case NATPMP_ERR_NOGATEWAYSUPPORT: return "the gateway does not offer NAT-PMP (is it enabled on the router?)";
    case NATPMP_ERR_UNSUPPORTEDOPCODE:
    case NATPMP_ERR_UNSUPPORTEDVERSION: return "the router does not support NAT-PMP";
    case NATPMP_ERR_RECVFROM: return fmt::format("the gateway refused ({}): no NAT-PMP service there", std::strerror(errno));
    default: return fmt::format("NAT-PMP error {}", code);
  }
}

class NatPmpClient final : public MappingClient {
 public:
  NatPmpClient(std::chrono::milliseconds timeout, bool allow_reserved)
      : timeout_(timeout), allow_reserved_(allow_reserved) {
    const int result = initnatpmp(&natpmp_, 0, 0);
    if (result == NATPMP_ERR_CANNOTGETGATEWAY) throw MappingError("no default gateway (is this host on a network?)");
    if (result < 0) throw MappingError(fmt::format("cannot open a NAT-PMP socket ({})", std::strerror(errno)));
    gateway_ = ipv4_text(in_addr{natpmp_.gateway});
  }
  ~NatPmpClient() override { closenatpmp(&natpmp_); }
  NatPmpClient(const NatPmpClient&) = delete;
  NatPmpClient& operator=(const NatPmpClient&) = delete;

  MappingProtocol protocol() const override { return MappingProtocol::nat_pmp; }

  Mapping add(std::uint16_t internal_port, std::uint16_t external_port, std::chrono::seconds lease) override {
    if (sendpublicaddressrequest(&natpmp_) < 0) throw MappingError(fmt::format("cannot send to the gateway {}", gateway_));
    const natpmpresp_t address = await_response(NATPMP_RESPTYPE_PUBLICADDRESS, "its internet address");
    const std::string external_address = ipv4_text(address.pnu.publicaddress.addr);
    if (!allow_reserved_ && is_reserved_ipv4(external_address))
      throw MappingError(fmt::format("the gateway's internet address {} is private or reserved: it sits behind another "
                                     "NAT (double NAT or carrier-grade NAT), so a mapping there would not make this "
                                     "node reachable", external_address));
    const auto lifetime = static_cast<std::uint32_t>(std::clamp<std::int64_t>(lease.count(), 1, UINT32_MAX));
    if (sendnewportmappingrequest(&natpmp_, NATPMP_PROTOCOL_TCP, internal_port, external_port, lifetime) < 0)
      throw MappingError(fmt::format("cannot send to the gateway {}", gateway_));
    const natpmpresp_t granted =
        await_response(NATPMP_RESPTYPE_TCPPORTMAPPING, fmt::format("a mapping of TCP port {}", external_port));
    if (granted.pnu.newportmapping.mappedpublicport == 0 || granted.pnu.newportmapping.lifetime == 0)
      throw MappingError(fmt::format("the gateway {} granted no port for TCP port {}", gateway_, external_port));
    return Mapping{.protocol = MappingProtocol::nat_pmp,
                   .external_address = external_address,
                   .external_port = granted.pnu.newportmapping.mappedpublicport,
                   .internal_port = internal_port,
                   .internal_address = local_address(),
                   .lifetime = std::chrono::seconds{granted.pnu.newportmapping.lifetime}};
  }

  // RFC 6886 3.4: a request with lifetime 0 (and external port 0) removes the mapping.
  void remove(const Mapping& mapping) override {
    if (sendnewportmappingrequest(&natpmp_, NATPMP_PROTOCOL_TCP, mapping.internal_port, 0, 0) < 0)
      throw MappingError(fmt::format("cannot send to the gateway {}", gateway_));
    await_response(NATPMP_RESPTYPE_TCPPORTMAPPING, fmt::format("the removal of TCP port {}", mapping.external_port));
  }

 private:
  // The answer to the pending request, of type `expected`; throws when the gateway refuses, answers
  // something else, or says nothing within timeout_.
  natpmpresp_t await_response(std::uint16_t expected, const std::string& what) {
    const auto deadline = Clock::now() + timeout_;
    natpmpresp_t response{};
    for (;;) {
      const int result = readnatpmpresponseorretry(&natpmp_, &response);
      if (result >= 0 && response.type == expected) return response;
      if (result >= 0)
        throw MappingError(fmt::format("the gateway {} answered {} with a message of another type", gateway_, what));
      if (result != NATPMP_TRYAGAIN)
        throw MappingError(fmt::format("the gateway {} answered no to {}: {}", gateway_, what, describe_natpmp_error(result)));
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) break;
      wait_readable(std::chrono::duration_cast<std::chrono::microseconds>(left));
    }
    throw MappingError(fmt::format("no NAT-PMP gateway answered at {} within {:g} s", gateway_,
                                   static_cast<double>(timeout_.count()) / 1000.0));
  }

  // Until the socket has an answer, libnatpmp's next retry is due, or `left` is over.
  void wait_readable(std::chrono::microseconds left) {
    timeval retry{};
    getnatpmprequesttimeout(&natpmp_, &retry);
    const auto retry_in = std::chrono::seconds{retry.tv_sec} + std::chrono::microseconds{retry.tv_usec};
    const auto wait = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(retry_in),
                                 std::chrono::microseconds{0}, left);
    timeval tv{.tv_sec = static_cast<time_t>(wait.count() / 1000000), .tv_usec = static_cast<suseconds_t>(wait.count() % 1000000)};
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(natpmp_.s, &readable);
    select(natpmp_.s + 1, &readable, nullptr, nullptr, &tv);
  }

  // The socket is connected to the gateway, so its own address is the LAN address the router sees.
  std::string local_address() const {
    sockaddr_in local{};
    socklen_t size = sizeof local;
    if (getsockname(natpmp_.s, reinterpret_cast<sockaddr*>(&local), &size) != 0) return {};
    return ipv4_text(local.sin_addr);
  }

  natpmp_t natpmp_{};
  std::chrono::milliseconds timeout_;
  bool allow_reserved_ = false;
  std::string gateway_;
};

}  // namespace

std::unique_ptr<MappingClient> open_nat_pmp(const PortMapperOptions& options) {
  return std::make_unique<NatPmpClient>(options.discover_timeout, options.allow_reserved_external_address);
}

}  // namespace tessera::nat
