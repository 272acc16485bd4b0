// Direct, then a mapped port, then a relay; a lost relay replaced.
#include "core/node/swarm/reachability.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/nat/port_mapper.h"
#include "core/protocol/node_address.h"
#include "core/relay/relay_link.h"
#include "core/relay/relay_server.h"
#include "core/wallet/encoding.h"

namespace tessera::node::swarm {
namespace {

bool way_refused(const client::HubRefused& refused) { return refused.status == 409 || refused.status == 403; }

std::string short_hex(const wallet::PublicKey& key) { return wallet::to_hex(key).substr(0, 12); }

}  // namespace

Reachability::Reachability(ReachOptions options, const wallet::KeyPair& node_key)
    : options_(std::move(options)), key_(node_key) {}

Reachability::~Reachability() = default;

void Reachability::offer_relay(protocol::JoinRequest& request, const std::string& bound_endpoint) {
  if (options_.relay_port < 0) return;
  const auto bound = protocol::parse_tcp_endpoint(bound_endpoint);
  relay::RelayServerOptions relay_options;
  relay_options.bind_host = bound ? bound->host : "0.0.0.0";
  relay_options.port = static_cast<std::uint16_t>(options_.relay_port);
  relay_options.public_host = relay_options.bind_host;  // clients put in the host the hub lists
  relay_server_ = std::make_unique<relay::RelayServer>(relay_options);
  request.relay = protocol::format_tcp_endpoint({relay_options.bind_host, relay_server_->port()});
  spdlog::info("offering to relay for nodes nobody can reach, on TCP port {}", relay_server_->port());
}

int Reachability::join(client::HubClient& hub, protocol::JoinRequest& request, const std::string& bound_endpoint) {
  std::lock_guard links(links_mutex_);
  return join_locked(hub, request, bound_endpoint);
}

int Reachability::join_locked(client::HubClient& hub, protocol::JoinRequest& request, const std::string& bound_endpoint) {
  const auto bound = protocol::parse_tcp_endpoint(bound_endpoint);
  if (!bound) throw std::runtime_error("the stage server's endpoint is not tcp://host:port: " + bound_endpoint);
  local_port_ = bound->port;
  local_host_ = protocol::is_unspecified_host(bound->host) ? "127.0.0.1" : bound->host;
  request.endpoint = options_.advertise.empty() ? bound_endpoint : options_.advertise;
  request.relayed_by.reset();
  if (options_.via_relay) return join_only_through_relay(hub, request);
  std::string why;
  try {
    return try_join(hub, request, "direct", options_.advertise.empty() ? "" : "advertised");
  } catch (const client::HubRefused& refused) {
    if (!way_refused(refused)) throw;
    why = refused.what();
    spdlog::warn("{}", why);
  }
  if (options_.map_port)
    if (const auto stage = join_through_mapping(hub, request)) return *stage;
  if (options_.use_relays)
    if (const auto stage = join_through_relay(hub, request)) return *stage;
  set("unreachable", request.endpoint, why);
  throw std::runtime_error(why + (options_.map_port || options_.use_relays
                                      ? "; no port mapping or relay worked either (see the log)"
                                      : "; port mapping and relays are turned off"));
}

int Reachability::rejoin(client::HubClient& hub, protocol::JoinRequest& request, const std::string& bound_endpoint) {
  std::lock_guard links(links_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (!endpoint_.empty()) request.endpoint = endpoint_;
  }
  request.relayed_by = link_ ? relay_key_ : std::nullopt;
  try {
    return hub.join(key_, request);
  } catch (const client::HubRefused& refused) {
    if (!way_refused(refused)) throw;
    spdlog::warn("joining again where this node was reached: {}", refused.what());
  }
  link_.reset();
  mapper_.reset();
  return join_locked(hub, request, bound_endpoint);
}

int Reachability::try_join(client::HubClient& hub, protocol::JoinRequest& request, const std::string& how,
                           std::string detail) {
  const int stage = hub.join(key_, request);
  const auto named = hub.named();
  const auto endpoint = named.endpoint.empty() ? request.endpoint : named.endpoint;
  set(named.reachability == "unchecked" ? "unchecked" : how, endpoint, std::move(detail));
  spdlog::info("reachable at {} ({})", endpoint, named.reachability == "unchecked" ? "the hub did not check" : how);
  return stage;
}

std::optional<int> Reachability::join_through_mapping(client::HubClient& hub, protocol::JoinRequest& request) {
  nat::PortMapperOptions mapping_options;
  // A router whose WAN address is private or reserved sits behind another NAT: the hub's check
  // (it sees the outer address) decides, and a relay follows when it refuses.
  mapping_options.allow_reserved_external_address = true;
  mapper_ = std::make_unique<nat::PortMapper>(local_port_, mapping_options);
  const auto mapping = mapper_->map();
  if (!mapping) {
    spdlog::warn("port mapping: {}", mapper_->last_error());
    mapper_.reset();
    return std::nullopt;
  }
  request.endpoint = protocol::format_tcp_endpoint({mapping->external_address, mapping->external_port});
  const auto detail = std::string(nat::to_string(mapping->protocol)) + ": " + mapping->external_address + ":" +
                      std::to_string(mapping->external_port) + " → port " + std::to_string(mapping->internal_port);
  try {
    return try_join(hub, request, "port mapping", detail);
  } catch (const client::HubRefused& refused) {
    if (!way_refused(refused)) throw;
    spdlog::warn("the router mapped a port ({}), but: {}", detail, refused.what());
    mapper_.reset();
    return std::nullopt;
  }
}

int Reachability::join_only_through_relay(client::HubClient& hub, protocol::JoinRequest& request) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto stage = join_through_relay(hub, request)) return *stage;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  set("unreachable", request.endpoint, "no relay was listed within a minute");
  throw std::runtime_error("asked to join through a relay, but the hub listed none that worked within a minute");
}

std::optional<int> Reachability::join_through_relay(client::HubClient& hub, protocol::JoinRequest& request) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto endpoint = open_relay(hub, relay_key_);
    if (!endpoint) return std::nullopt;
    request.endpoint = *endpoint;
    request.relayed_by = relay_key_;
    try {
      return try_join(hub, request, "relay", "relay " + short_hex(*relay_key_));
    } catch (const client::HubRefused& refused) {
      if (!way_refused(refused)) throw;
      spdlog::warn("through relay {}: {}", short_hex(*relay_key_), refused.what());
      link_.reset();
    }
  }
  request.relayed_by.reset();
  return std::nullopt;
}

std::optional<std::string> Reachability::open_relay(client::HubClient& hub, const std::optional<wallet::PublicKey>& avoid) {
  std::vector<protocol::RelayInfo> relays;
  try {
    relays = hub.relays();
  } catch (const std::exception& error) {
    spdlog::warn("cannot read the hub's relays: {}", error.what());
    return std::nullopt;
  }
  for (const auto& relay : relays) {
    if (relay.node == key_.public_key() || (avoid && relay.node == *avoid)) continue;
    const auto control = protocol::parse_tcp_endpoint(relay.endpoint);
    if (!control) continue;
    try {
      auto link = std::make_unique<relay::RelayLink>(control->host, control->port, key_, local_host_, local_port_);
      auto endpoint = protocol::parse_tcp_endpoint(link->public_endpoint());
      if (!endpoint) continue;
      endpoint->host = control->host;  // the relay's address as the hub sees it
      link_ = std::move(link);
      relay_key_ = relay.node;
      spdlog::info("reached through relay {} at {}", short_hex(relay.node), protocol::format_tcp_endpoint(*endpoint));
      return protocol::format_tcp_endpoint(*endpoint);
    } catch (const std::exception& error) {
      spdlog::warn("relay {} at {}: {}", short_hex(relay.node), relay.endpoint, error.what());
    }
  }
  if (relays.empty()) spdlog::warn("the hub lists no relay");
  return std::nullopt;
}

void Reachability::maintain(client::HubClient& hub) {
  std::lock_guard links(links_mutex_);
  if (!link_ || link_->alive()) return;
  const auto lost = relay_key_;
  spdlog::warn("relay {} lost: {}; looking for another", lost ? short_hex(*lost) : "?", link_->failure());
  link_.reset();
  set("unreachable", {}, "the relay was lost; looking for another");
  const auto endpoint = open_relay(hub, lost);
  if (!endpoint) return;  // tried again at the next heartbeat
  try {
    const auto recorded = hub.update_endpoint(key_, {*endpoint, relay_key_});
    set("relay", recorded, "relay " + short_hex(*relay_key_));
  } catch (const std::exception& error) {
    spdlog::warn("the hub did not take the new relay: {}", error.what());
    link_.reset();
  }
}

nlohmann::json Reachability::heartbeat_fields() const {
  std::lock_guard links(links_mutex_);
  nlohmann::json fields = nlohmann::json::object();
  if (relay_server_) {
    auto served = nlohmann::json::array();
    for (const auto& [client, bytes] : relay_server_->relayed()) {
      if (served.size() >= 64) break;
      served.push_back({{"client", wallet::to_hex(client)}, {"bytes", bytes.to_client + bytes.from_client}});
    }
    fields["relay_served"] = served;
  }
  if (link_ && relay_key_) {
    const auto bytes = link_->bytes();
    fields["relayed"] = {{"via", wallet::to_hex(*relay_key_)}, {"bytes", bytes.to_client + bytes.from_client}};
  }
  return fields;
}

void Reachability::set(std::string how, std::string endpoint, std::string detail) {
  std::lock_guard lock(mutex_);
  how_ = std::move(how);
  if (!endpoint.empty()) endpoint_ = std::move(endpoint);
  detail_ = std::move(detail);
}

void Reachability::fill(control::NodeStatus& out) const {
  std::lock_guard lock(mutex_);
  out.reachability = how_;
  out.endpoint = endpoint_;
  out.reachability_detail = detail_;
}

}  // namespace tessera::node::swarm
