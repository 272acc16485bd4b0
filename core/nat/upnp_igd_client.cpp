// UPnP-IGD through miniupnpc: SSDP discovery bounded by discover_timeout (every search type sent
// at once, one wait), then SOAP calls to the gateway's WANIPConnection, each bounded by
// miniupnpc's 3 s socket timeouts.
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>

#include <spdlog/fmt/fmt.h>

#include "core/nat/address_class.h"
#include "core/nat/mapping_client.h"

namespace tessera::nat {
namespace {

constexpr int kConflictInMappingEntry = 718;
constexpr int kOnlyPermanentLeasesSupported = 725;

std::string describe_upnp_error(int code) {
  const char* text = strupnperror(code);
  return text ? fmt::format("{} ({})", text, code) : fmt::format("error {}", code);
}

struct DeviceList {
  UPNPDev* devices = nullptr;
  ~DeviceList() { freeUPNPDevlist(devices); }
};

class UpnpIgdClient final : public MappingClient {
 public:
  UpnpIgdClient(UPNPUrls urls, IGDdatas data, std::string lan_address, std::string description)
      : urls_(urls), data_(data), lan_address_(std::move(lan_address)), description_(std::move(description)) {}
  ~UpnpIgdClient() override { FreeUPNPUrls(&urls_); }
  UpnpIgdClient(const UpnpIgdClient&) = delete;
  UpnpIgdClient& operator=(const UpnpIgdClient&) = delete;

  MappingProtocol protocol() const override { return MappingProtocol::upnp_igd; }

  Mapping add(std::uint16_t internal_port, std::uint16_t external_port, std::chrono::seconds lease) override {
    Mapping mapping{.protocol = MappingProtocol::upnp_igd, .external_address = external_address(),
                    .external_port = external_port, .internal_port = internal_port,
                    .internal_address = lan_address_, .lifetime = lease};
    int result = add_exact(mapping);
    if (result == kOnlyPermanentLeasesSupported) {
      mapping.lifetime = std::chrono::seconds{0};
      result = add_exact(mapping);
    }
    if (result == kConflictInMappingEntry) result = add_any(mapping);
    if (result != UPNPCOMMAND_SUCCESS)
      throw MappingError(fmt::format("the router {} refused to forward TCP port {} to {}:{}: {}", urls_.rootdescURL,
                                     external_port, lan_address_, internal_port, describe_upnp_error(result)));
    return mapping;
  }

  void remove(const Mapping& mapping) override {
    const std::string port = std::to_string(mapping.external_port);
    const int result = UPNP_DeletePortMapping(urls_.controlURL, data_.first.servicetype, port.c_str(), "TCP", nullptr);
    if (result != UPNPCOMMAND_SUCCESS)
      throw MappingError(fmt::format("the router did not remove the mapping of TCP port {}: {}", port,
                                     describe_upnp_error(result)));
  }

 private:
  std::string external_address() const {
    std::array<char, 40> address{};
    const int result = UPNP_GetExternalIPAddress(urls_.controlURL, data_.first.servicetype, address.data());
    if (result != UPNPCOMMAND_SUCCESS || address[0] == '\0')
      throw MappingError(fmt::format("the router {} did not tell its internet address: {}", urls_.rootdescURL,
                                     describe_upnp_error(result)));
    return address.data();
  }

  int add_exact(const Mapping& mapping) const {
    const std::string external = std::to_string(mapping.external_port);
    const std::string internal = std::to_string(mapping.internal_port);
    const std::string lease = std::to_string(mapping.lifetime.count());
    return UPNP_AddPortMapping(urls_.controlURL, data_.first.servicetype, external.c_str(), internal.c_str(),
                               lan_address_.c_str(), description_.c_str(), "TCP", nullptr, lease.c_str());
  }

  // IGDv2's AddAnyPortMapping: the router picks a free external port. IGDv1 routers answer
  // "invalid action", which then stands as the error.
  int add_any(Mapping& mapping) const {
    const std::string external = std::to_string(mapping.external_port);
    const std::string internal = std::to_string(mapping.internal_port);
    const std::string lease = std::to_string(mapping.lifetime.count());
    std::array<char, 8> reserved{};
    const int result = UPNP_AddAnyPortMapping(urls_.controlURL, data_.first.servicetype, external.c_str(),
                                              internal.c_str(), lan_address_.c_str(), description_.c_str(), "TCP",
                                              nullptr, lease.c_str(), reserved.data());
    if (result != UPNPCOMMAND_SUCCESS) return result;
    const int port = std::atoi(reserved.data());
    if (port <= 0 || port > 65535) return UPNPCOMMAND_INVALID_RESPONSE;
    mapping.external_port = static_cast<std::uint16_t>(port);
    return result;
  }

  UPNPUrls urls_;
  IGDdatas data_;
  std::string lan_address_;
  std::string description_;
};

std::string seconds_text(std::chrono::milliseconds timeout) {
  return fmt::format("{:g} s", static_cast<double>(timeout.count()) / 1000.0);
}

// miniupnpc's "valid IGD" is connected and has a public address; an IGD that is connected with a
// reserved one (behind another NAT, or a test network) is usable only when the options allow it.
bool usable_with_reserved_address(UPNPUrls& urls, IGDdatas& data, const PortMapperOptions& options) {
  if (!options.allow_reserved_external_address || !UPNPIGD_IsConnected(&urls, &data)) return false;
  std::array<char, 40> address{};
  return UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, address.data()) == UPNPCOMMAND_SUCCESS &&
         address[0] != '\0';
}

std::string describe_unusable_igd(UPNPUrls& urls, IGDdatas& data) {
  if (!UPNPIGD_IsConnected(&urls, &data))
    return "a UPnP-IGD router answered but reports its internet connection as down";
  std::array<char, 40> address{};
  if (UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, address.data()) != UPNPCOMMAND_SUCCESS ||
      address[0] == '\0')
    return "a UPnP-IGD router answered but has no internet address";
  return fmt::format("the UPnP-IGD router's internet address {} is private or reserved: it sits behind another NAT "
                     "(double NAT or carrier-grade NAT), so a mapping there would not make this node reachable",
                     address.data());
}

}  // namespace

std::unique_ptr<MappingClient> discover_upnp_igd(const PortMapperOptions& options) {
  // Every search type at once and one wait (searchalltypes), so the wait is discover_timeout and
  // not once per type. No minissdpd socket: a daemon on this host would answer for another LAN.
  static const char* const search_types[] = {
      "urn:schemas-upnp-org:device:InternetGatewayDevice:1", "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
      "urn:schemas-upnp-org:service:WANIPConnection:1", "urn:schemas-upnp-org:service:WANPPPConnection:1", nullptr};
  const int delay_ms = static_cast<int>(std::max<std::int64_t>(options.discover_timeout.count(), 100));
  int error = 0;
  DeviceList list;
  list.devices = upnpDiscoverDevices(search_types, delay_ms, nullptr, "", UPNP_LOCAL_PORT_ANY, 0, 2, &error, 1);
  if (!list.devices)
    throw MappingError(fmt::format("no UPnP-IGD router answered within {}", seconds_text(options.discover_timeout)));

  UPNPUrls urls{};
  IGDdatas data{};
  std::array<char, 64> lan_address{};
  const int found = UPNP_GetValidIGD(list.devices, &urls, &data, lan_address.data(), static_cast<int>(lan_address.size()));
  if (found == 1 || (found == 2 && usable_with_reserved_address(urls, data, options)))
    return std::make_unique<UpnpIgdClient>(urls, data, lan_address.data(), options.description);
  // 2: an IGD, but not connected or (miniupnpc's test) with a reserved address; 0, 3: no IGD at all.
  const std::string why = found == 2 ? describe_unusable_igd(urls, data)
                                     : "UPnP devices answered but none is an internet gateway (is UPnP enabled on the router?)";
  FreeUPNPUrls(&urls);
  throw MappingError(why);
}

}  // namespace tessera::nat
