// tessera:// links: parsing (each part checked on its own, so a message can say which) and writing.
#include "core/protocol/run_link.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

constexpr int kDefaultPort = 443;
constexpr std::size_t kMaxRunIdLength = 128;
constexpr std::size_t kMaxLinkLength = 512;

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw std::invalid_argument("not a run link (" + why + "): '" + std::string(text.substr(0, 300)) +
                              "'; a run link reads tessera://host:port/<run id>#<publisher key>");
}

bool host_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool run_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

int parse_port(std::string_view text, std::string_view digits) {
  int port = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535)
    bad(text, "the port must be a number from 1 to 65535");
  return port;
}

// host[:port] or [v6]:port; fills host and port.
void parse_authority(std::string_view text, std::string_view authority, RunLink& link) {
  std::string_view rest;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad(text, "the IPv6 host has no closing ']'");
    link.host = std::string(authority.substr(1, close - 1));
    if (link.host.empty() || !std::all_of(link.host.begin(), link.host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        }))
      bad(text, "the host in brackets must be an IPv6 address");
    rest = authority.substr(close + 1);
  } else {
    const auto colon = authority.find(':');
    link.host = std::string(authority.substr(0, colon));
    if (link.host.empty()) bad(text, "no host");
    if (!std::all_of(link.host.begin(), link.host.end(), host_character))
      bad(text, "the host may hold letters, digits, '.', '-' and '_' (an IPv6 address goes in brackets)");
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (rest.empty()) {
    link.port = kDefaultPort;
    return;
  }
  if (rest.front() != ':') bad(text, "after the host comes ':' and the port");
  link.port = parse_port(text, rest.substr(1));
}

}  // namespace

std::string host_port(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string RunLink::https_url() const { return "https://" + host_port(host, port); }

std::string RunLink::to_string() const {
  return std::string(kRunLinkScheme) + host_port(host, port) + "/" + run_id + "#" + wallet::base58_encode(publisher);
}

bool is_run_link(std::string_view text) { return text.substr(0, kRunLinkScheme.size()) == kRunLinkScheme; }

RunLink parse_run_link(std::string_view text) {
  if (!is_run_link(text)) bad(text, "it must start with tessera://");
  if (text.size() > kMaxLinkLength) bad(text, "it is longer than " + std::to_string(kMaxLinkLength) + " characters");
  const auto body = text.substr(kRunLinkScheme.size());
  const auto slash = body.find('/');
  if (slash == std::string_view::npos) bad(text, "no '/<run id>' after the host");
  RunLink link;
  parse_authority(text, body.substr(0, slash), link);
  const auto after = body.substr(slash + 1);
  const auto hash = after.find('#');
  if (hash == std::string_view::npos) bad(text, "no '#<publisher key>' after the run id");
  const auto run = after.substr(0, hash);
  if (run.empty() || run.size() > kMaxRunIdLength || !std::all_of(run.begin(), run.end(), run_character))
    bad(text, "the run id must be 1 to 128 letters, digits, '.', '-' or '_'");
  link.run_id = std::string(run);
  const auto key = wallet::base58_decode(after.substr(hash + 1));
  if (!key || key->size() != link.publisher.size())
    bad(text, "the publisher key after '#' must be base58 of a 32-byte public key");
  std::copy(key->begin(), key->end(), link.publisher.begin());
  return link;
}

}  // namespace tessera::protocol
