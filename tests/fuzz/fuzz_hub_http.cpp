// libFuzzer target for the hub's HTTP request bodies: each input goes through what a hub route
// does before it acts, without a server: the route's body limit, the signature headers (parsed and
// verified over the raw body by the same RequestVerifier), the bounded JSON parse, and the route's
// field readers (join, receipt batches and each receipt, progress, completions and chat
// completions; the node's reader of the peer list too). Nothing may crash, leak or hit undefined
// behaviour; a reader may refuse only with std::invalid_argument (a 400) or a GatewayError; and
// what the readers accept must survive a round trip through the writers both ends use.
//
// Input: byte 0 picks the route; byte 1 bit 0 set: the body is signed correctly by a fixed key
// (so the readers behind the signature check are reached), clear: the three signature header
// values are the input's first three lines. The rest is the body.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/hub/chat.h"
#include "core/hub/completion.h"
#include "core/hub/request_verifier.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/receipt.h"
#include "core/sys/bounded_json.h"

using namespace tessera;

namespace {

constexpr char kRun[] = "fuzz-run";
constexpr std::int64_t kNowMs = 1'700'000'000'000;

enum class Reader { None, Join, Receipts, Progress, Completion, Chat, PeerList };

struct Route {
  const char* method;
  const char* path;
  bool is_signed;
  Reader reader;
};

constexpr Route kRoutes[] = {
    {"POST", protocol::hub_api::kChallenge, false, Reader::None},
    {"POST", protocol::hub_api::kJoin, true, Reader::Join},
    {"POST", protocol::hub_api::kReady, true, Reader::None},
    {"POST", protocol::hub_api::kHeartbeat, true, Reader::None},
    {"POST", protocol::hub_api::kLeave, true, Reader::None},
    {"GET", protocol::hub_api::kPeers, true, Reader::PeerList},  // the body: a hub's reply, as a node reads it
    {"POST", protocol::hub_api::kReceipts, true, Reader::Receipts},
    {"POST", protocol::hub_api::kProgress, true, Reader::Progress},
    {"POST", protocol::hub_api::kCompletions, false, Reader::Completion},
    {"POST", protocol::hub_api::kChatCompletions, false, Reader::Chat},
};

hub::CompletionLimits completion_limits() {
  hub::CompletionLimits limits;
  limits.model_id = kRun;
  limits.context = 64;
  return limits;
}

std::size_t body_limit(const Route& route) {
  // Gateway::body_limit at this context
  if (route.reader == Reader::Completion || route.reader == Reader::Chat) return 16 * 1024 + 6 * 64;
  if (route.reader == Reader::PeerList) return protocol::hub_api::kReceiptsBodyLimit;
  return protocol::hub_api::body_limit(route.path);
}

const wallet::KeyPair& signing_key() {
  static const auto key = [] {
    std::uint8_t seed[32] = {7};
    return wallet::KeyPair::from_seed(seed);
  }();
  return key;
}

std::string_view take_line(std::string_view& rest) {
  const auto end = rest.find('\n');
  const auto line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  return line;
}

void check_join(const nlohmann::json& body) {
  const auto join = protocol::join_body_from_json(body);
  const auto again = protocol::join_body_from_json(protocol::to_json(join));
  if (again.nonce != join.nonce || again.request.endpoint != join.request.endpoint ||
      again.request.device.name != join.request.device.name ||
      again.request.device.memory_bytes != join.request.device.memory_bytes ||
      again.request.delegation.signature != join.request.delegation.signature)
    std::abort();
}

void check_receipts(const nlohmann::json& body) {
  for (const auto& item : protocol::receipt_batch_items(body)) {
    try {
      const auto receipt = protocol::signed_receipt_from_json(item);
      if (protocol::signed_receipt_from_json(protocol::to_json(receipt)).encode() != receipt.encode()) std::abort();
      (void)receipt.id();
    } catch (const std::invalid_argument&) {
      // one bad receipt is rejected alone, as the hub does
    }
  }
}

void check_peer_list(const nlohmann::json& body) {
  const auto list = protocol::peer_list_from_json(body);
  const auto again = protocol::peer_list_from_json(protocol::to_json(list));
  if (again.peers.size() != list.peers.size() || again.driver != list.driver) std::abort();
}

void read_fields(Reader reader, const nlohmann::json& body) {
  switch (reader) {
    case Reader::None: return;
    case Reader::Join: return check_join(body);
    case Reader::Receipts: return check_receipts(body);
    case Reader::Progress: (void)protocol::progress_step(body); return;
    case Reader::Completion: (void)hub::parse_completion_request(body, completion_limits()); return;
    case Reader::Chat: (void)hub::parse_chat_request(body, completion_limits()); return;
    case Reader::PeerList: return check_peer_list(body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const hub::RequestVerifier verifier(kRun, std::chrono::minutes(2));
  const auto& route = kRoutes[data[0] % std::size(kRoutes)];
  const bool sign = (data[1] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  protocol::SignatureHeaders headers;
  if (!sign) {
    headers.node_key = take_line(rest);
    headers.time_ms = take_line(rest);
    headers.signature = take_line(rest);
  }
  const std::string_view body = rest;
  if (body.size() > body_limit(route)) return 0;  // refused unread (413)
  try {
    if (route.is_signed) {
      if (sign)
        headers = protocol::to_headers(
            protocol::sign_hub_request(kRun, route.method, route.path, body, kNowMs, signing_key()));
      const auto sender = verifier.verify(headers, route.method, route.path, body, hub::Replays::Harmless, kNowMs);
      if (sign && sender != signing_key().public_key()) std::abort();
    }
    auto parsed = sys::parse_bounded_json(body, {body_limit(route), net::kMaxBodyDepth});
    if (!parsed.value || !parsed.value->is_object()) return 0;  // 400
    read_fields(route.reader, *parsed.value);
  } catch (const net::HttpError& refused) {
    if (sign && route.is_signed) std::abort();  // a request signed over its exact bytes must verify
  } catch (const std::invalid_argument&) {
  } catch (const hub::GatewayError&) {
  }
  return 0;
}
