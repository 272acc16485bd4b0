// A signed request as a hub route receives it, in the order the trust model asks for: the body's
// size is bounded (the server's request limits did that before reading it; checked again here),
// the signature headers are verified over the raw body bytes (RequestVerifier), and only then is
// the body parsed, as a JSON object within the nesting limit.
#pragma once

#include <nlohmann/json.hpp>

#include "core/hub/request_verifier.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"

namespace httplib {
struct Request;
}

namespace tessera::hub {

struct SignedRequest {
  wallet::PublicKey sender{};
  nlohmann::json body;  // a JSON object ({} for an empty body where that is allowed)
};

// The three signature headers as received (empty where absent).
protocol::SignatureHeaders signature_headers(const httplib::Request& request);

// Throws what RequestVerifier::verify and net::json_object_body throw, and net::HttpError 413 for
// a body over its route's limit.
SignedRequest read_signed(const RequestVerifier& verifier, const httplib::Request& request, Replays replays,
                          net::EmptyBody empty = net::EmptyBody::IsEmptyObject);

}  // namespace tessera::hub
