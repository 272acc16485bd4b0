// Signed hub requests, checked (see request_verifier.h).
#include "core/hub/request_verifier.h"

#include "core/net/http_json.h"

namespace tessera::hub {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

wallet::PublicKey RequestVerifier::verify(const protocol::SignatureHeaders& headers, std::string_view method,
                                          std::string_view path, std::string_view body, Replays replays,
                                          std::int64_t now_ms) const {
  if (headers.node_key.empty() && headers.time_ms.empty() && headers.signature.empty())
    throw net::HttpError(401, std::string("this request must be signed by a node key (headers ") +
                                  protocol::kNodeKeyHeader + ", " + protocol::kTimeHeader + ", " +
                                  protocol::kSignatureHeader + ")");
  const auto signed_by = protocol::parse_signature_headers(headers);
  if (signed_by.time_ms < now_ms - skew_.count() || signed_by.time_ms > now_ms + skew_.count())
    throw net::HttpError(403, "the request's time is too far from the hub's clock (check the node's clock)");
  if (!protocol::verify_hub_request(signed_by, run_id_, method, path, body))
    throw net::HttpError(403, "the request's signature does not match its node key, this run and its body");
  if (replays == Replays::Refused && !replays_.first_use(signed_by.signature, signed_by.time_ms + skew_.count(), now_ms))
    throw net::HttpError(403, "this request was already received: a signed request is accepted once");
  return signed_by.node_key;
}

}  // namespace tessera::hub
