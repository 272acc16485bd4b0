// Whether a host names this machine only (127.0.0.0/8, ::1, localhost): the one place plain HTTP
// is allowed between a node and its hub, and where a hub may serve without TLS.
#pragma once

#include <string_view>

namespace tessera::net {

// `host` without brackets; "localhost" and names under ".localhost" count, as do IPv4-mapped
// loopback addresses (::ffff:127.x.x.x).
bool is_loopback_host(std::string_view host);

}  // namespace tessera::net
