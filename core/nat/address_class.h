// Which IPv4 addresses cannot be an internet address: private, shared (CGNAT), loopback,
// link-local, documentation (TEST-NET), multicast and reserved blocks (the list miniupnpc uses).
// A router that reports one as its WAN address sits behind another NAT.
#pragma once

#include <string>

namespace tessera::nat {

bool is_reserved_ipv4(const std::string& address);  // also true for text that is not IPv4

}  // namespace tessera::nat
