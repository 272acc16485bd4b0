// The hub's run API: GET /api/manifest serves the publisher-signed run manifest, which a node
// checks against the publisher's key before it believes anything else the hub says.
#pragma once

namespace tessera::protocol {
struct RunManifest;
}

namespace tessera::hub {

class RouteTable;

class RunController {
 public:
  // `manifest` must outlive the table the routes are mounted in (the controller need not).
  explicit RunController(const protocol::RunManifest& manifest) : manifest_(manifest) {}

  void mount(RouteTable& routes);

 private:
  const protocol::RunManifest& manifest_;
};

}  // namespace tessera::hub
