// One router protocol as PortMapper sees it: a router found on the LAN that grants, renews and
// removes TCP mappings. Failures are exceptions whose message says what the user can check.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "core/nat/port_mapper.h"

namespace tessera::nat {

// A router refused or did not answer; what() is a sentence without the protocol's name.
class MappingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class MappingClient {
 public:
  virtual ~MappingClient() = default;
  virtual MappingProtocol protocol() const = 0;
  // Asks for external_port -> internal_port (TCP) for `lease`; the router may grant another
  // external port or lifetime (the result says which). Adding the same mapping again renews it.
  virtual Mapping add(std::uint16_t internal_port, std::uint16_t external_port, std::chrono::seconds lease) = 0;
  virtual void remove(const Mapping& mapping) = 0;  // throws MappingError when the router refuses
};

// The UPnP Internet Gateway Device that answers SSDP within options.discover_timeout; throws
// MappingError when none does.
std::unique_ptr<MappingClient> discover_upnp_igd(const PortMapperOptions& options);
// The default gateway, spoken to with NAT-PMP; each request waits at most options.discover_timeout.
std::unique_ptr<MappingClient> open_nat_pmp(const PortMapperOptions& options);

}  // namespace tessera::nat
