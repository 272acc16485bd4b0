// How a member is reached (issue 18): the TCP endpoints in join requests, address updates and the
// relay list. A node bound to an unspecified address (0.0.0.0, ::) advertises it as it is, and the
// hub puts in the address it sees the node connect from; a node behind NAT advertises the port its
// router mapped, or a relay's public port. Parsing here is strict: these strings come from strangers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/wallet/signing.h"

namespace tessera::protocol {

struct TcpEndpoint {
  std::string host;  // an IPv4 or IPv6 literal, or a DNS name; IPv6 without brackets
  std::uint16_t port = 0;
};

// "tcp://host:port" or "tcp://[v6]:port"; nothing for anything else (a port of 0 included).
std::optional<TcpEndpoint> parse_tcp_endpoint(std::string_view text);
std::string format_tcp_endpoint(const TcpEndpoint& endpoint);
// 0.0.0.0, ::, * or empty: "wherever the hub sees me".
bool is_unspecified_host(std::string_view host);
// An address as cpp-httplib reports a peer's (an IPv4-mapped IPv6 address becomes IPv4).
std::string plain_address(std::string_view remote_addr);

// POST /api/endpoint (signed by the member): where it is reached now (a relay replaced, a mapping
// renewed on another port). The hub checks it as it checks a join's.
struct AddressUpdate {
  std::string endpoint;
  std::optional<wallet::PublicKey> relayed_by{};  // the relay whose public port `endpoint` is
};
nlohmann::json to_json(const AddressUpdate& update);
// Throws std::invalid_argument naming the bad field.
AddressUpdate address_update_from_json(const nlohmann::json& body);

// GET /api/relays (public): the members that offer to relay, fewest clients first.
struct RelayInfo {
  wallet::PublicKey node{};
  std::string endpoint;  // the relay's control port, tcp://host:port
  std::uint64_t clients = 0;
};
nlohmann::json to_json(const std::vector<RelayInfo>& relays);
// Entries that do not parse are skipped; at most kMaxRelaysListed are read.
std::vector<RelayInfo> relays_from_json(const nlohmann::json& reply);
inline constexpr std::size_t kMaxRelaysListed = 32;

}  // namespace tessera::protocol
