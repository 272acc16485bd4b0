// Signed requests read from cpp-httplib (see signed_request.h).
#include "core/hub/signed_request.h"

#include <httplib.h>

namespace tessera::hub {

protocol::SignatureHeaders signature_headers(const httplib::Request& request) {
  return {request.get_header_value(protocol::kNodeKeyHeader), request.get_header_value(protocol::kTimeHeader),
          request.get_header_value(protocol::kSignatureHeader)};
}

SignedRequest read_signed(const RequestVerifier& verifier, const httplib::Request& request, Replays replays,
                          net::EmptyBody empty) {
  const auto limit = protocol::hub_api::body_limit(request.path);
  if (request.body.size() > limit)
    throw net::HttpError(413, "the body is " + std::to_string(request.body.size()) + " bytes; at most " +
                                  std::to_string(limit) + " are accepted here");
  SignedRequest out;
  out.sender = verifier.verify(signature_headers(request), request.method, request.path, request.body, replays);
  out.body = net::json_object_body(request, empty);
  return out;
}

}  // namespace tessera::hub
