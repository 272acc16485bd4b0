// The spot-check API (docs/verification.md "On the hub"): POST /api/weights (a node's weights
// digest for the start of a step; signed), POST /api/checks (a checker's protocol::CheckReport;
// signed, only from the ticket's checker, once), GET /api/checks/summary (public: counts and the
// rate). Mounted only on a hub that settles (it has a hub key to sign tickets with).
#pragma once

namespace tessera::hub {

class RouteTable;

class RequestVerifier;
class SpotChecks;

class ChecksController {
 public:
  // Both must outlive the controller, which must outlive the table it is mounted in.
  ChecksController(SpotChecks& checks, const RequestVerifier& verifier) : checks_(checks), verifier_(verifier) {}

  void mount(RouteTable& routes);

 private:
  SpotChecks& checks_;
  const RequestVerifier& verifier_;
};

}  // namespace tessera::hub
