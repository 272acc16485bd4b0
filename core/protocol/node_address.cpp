// TCP endpoint parsing and the address update and relay list shapes.
#include "core/protocol/node_address.h"

#include <cctype>
#include <charconv>
#include <stdexcept>

#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr std::size_t kMaxEndpointText = 200;

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (const char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '*' || c == '%'))
      return false;
  return true;
}

std::optional<wallet::PublicKey> optional_key(const nlohmann::json& body, const char* name) {
  const auto found = body.find(name);
  if (found == body.end() || found->is_null()) return std::nullopt;
  if (!found->is_string()) throw std::invalid_argument(std::string("field '") + name + "' must be a hex key");
  const auto key = wallet::fixed_from_hex<32>(found->get_ref<const std::string&>());
  if (!key) throw std::invalid_argument(std::string("field '") + name + "' is not 64 hex digits");
  return *key;
}

}  // namespace

std::optional<TcpEndpoint> parse_tcp_endpoint(std::string_view text) {
  if (text.size() > kMaxEndpointText || text.rfind("tcp://", 0) != 0) return std::nullopt;
  text.remove_prefix(6);
  TcpEndpoint out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    if (out.host.find(':') == std::string::npos) return std::nullopt;
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) return std::nullopt;
  if (!valid_host(out.host)) return std::nullopt;
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

std::string format_tcp_endpoint(const TcpEndpoint& endpoint) {
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

bool is_unspecified_host(std::string_view host) {
  return host.empty() || host == "*" || host == "0.0.0.0" || host == "::" || host == "[::]";
}

std::string plain_address(std::string_view remote_addr) {
  constexpr std::string_view kMapped = "::ffff:";
  if (remote_addr.rfind(kMapped, 0) == 0 && remote_addr.find('.') != std::string_view::npos)
    remote_addr.remove_prefix(kMapped.size());
  return std::string(remote_addr);
}

nlohmann::json to_json(const AddressUpdate& update) {
  nlohmann::json out{{"endpoint", update.endpoint}};
  if (update.relayed_by) out["relayed_by"] = wallet::to_hex(*update.relayed_by);
  return out;
}

AddressUpdate address_update_from_json(const nlohmann::json& body) {
  if (!body.is_object()) throw std::invalid_argument("the body must be an object");
  const auto endpoint = body.find("endpoint");
  if (endpoint == body.end() || !endpoint->is_string() || !parse_tcp_endpoint(endpoint->get_ref<const std::string&>()))
    throw std::invalid_argument("field 'endpoint' must be tcp://host:port");
  return {endpoint->get<std::string>(), optional_key(body, "relayed_by")};
}

nlohmann::json to_json(const std::vector<RelayInfo>& relays) {
  auto list = nlohmann::json::array();
  for (const auto& relay : relays)
    list.push_back({{"node", wallet::to_hex(relay.node)}, {"endpoint", relay.endpoint}, {"clients", relay.clients}});
  return {{"relays", list}};
}

std::vector<RelayInfo> relays_from_json(const nlohmann::json& reply) {
  std::vector<RelayInfo> out;
  const auto list = reply.find("relays");
  if (list == reply.end() || !list->is_array()) return out;
  for (const auto& item : *list) {
    if (out.size() >= kMaxRelaysListed) break;
    if (!item.is_object()) continue;
    const auto node = item.find("node");
    const auto endpoint = item.find("endpoint");
    if (node == item.end() || !node->is_string() || endpoint == item.end() || !endpoint->is_string()) continue;
    const auto key = wallet::fixed_from_hex<32>(node->get_ref<const std::string&>());
    if (!key || !parse_tcp_endpoint(endpoint->get_ref<const std::string&>())) continue;
    RelayInfo relay{*key, endpoint->get<std::string>(), 0};
    if (const auto clients = item.find("clients"); clients != item.end() && clients->is_number_unsigned())
      relay.clients = clients->get<std::uint64_t>();
    out.push_back(std::move(relay));
  }
  return out;
}

}  // namespace tessera::protocol
