// The inference gateway's HTTP routes (DESIGN.md "Inference"): GET /v1/models,
// POST /v1/completions and POST /v1/chat/completions (chat.h), answered whole or streamed as server-sent events, with OpenAI-shaped
// bodies and errors ({"error": {message, type, param, code}}). In order: the API key, the body
// (bounded size and nesting), the request's fields, a place among the completions run at once
// (429 with Retry-After beyond), the most it can cost reserved on the key (402 beyond its
// balance), then the Gateway does the work and the charge is settled with the tokens used.
#pragma once

#include <string>

namespace httplib {
struct Response;
}  // namespace httplib

namespace tessera::hub {

class RouteTable;

class Gateway;

class GatewayController {
 public:
  // `gateway` must outlive the table the routes are mounted in (the controller need not).
  explicit GatewayController(Gateway& gateway) : gateway_(gateway) {}

  void mount(RouteTable& routes);

 private:
  Gateway& gateway_;
};

// An OpenAI-shaped refusal for what the server refuses before a route runs (net::limit_requests).
void reply_gateway_refusal(httplib::Response& response, int status, const std::string& message);

}  // namespace tessera::hub
