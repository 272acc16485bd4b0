// The inference gateway's HTTP routes (DESIGN.md "Inference"): GET /v1/models and
// POST /v1/completions, answered whole or streamed as server-sent events, with OpenAI-shaped
// bodies and errors ({"error": {message, type, param, code}}). The Gateway does the work.
#pragma once

namespace httplib {
class Server;
}

namespace tessera::hub {

class Gateway;

class GatewayController {
 public:
  // `gateway` must outlive the server the routes are mounted on (the controller need not).
  explicit GatewayController(Gateway& gateway) : gateway_(gateway) {}

  void mount(httplib::Server& server);

 private:
  Gateway& gateway_;
};

}  // namespace tessera::hub
