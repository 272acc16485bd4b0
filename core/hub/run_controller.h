// The hub's run API: GET /api/manifest serves the publisher-signed run manifest, which a node
// checks against the publisher's key before it believes anything else the hub says.
#pragma once

namespace httplib {
class Server;
}

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class RunController {
 public:
  // `manifest` must outlive the server the routes are mounted on (the controller need not).
  explicit RunController(const protocol::RunManifest& manifest) : manifest_(manifest) {}

  void mount(httplib::Server& server);

 private:
  const protocol::RunManifest& manifest_;
};

}  // namespace tessera::hub
