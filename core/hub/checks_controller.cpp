// Weights digests, check reports and the checks summary over cpp-httplib.
#include "core/hub/checks_controller.h"

#include <httplib.h>

#include "core/hub/signed_request.h"
#include "core/hub/spot_checks.h"
#include "core/net/http_json.h"
#include "core/protocol/spot_check.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

WeightsReport weights_report(const wallet::PublicKey& node, const nlohmann::json& body) {
  WeightsReport report;
  report.node = node;
  report.step = net::json_field<std::uint64_t>(body, "step");
  report.stage = net::json_field<std::uint16_t>(body, "stage");
  const auto digest = wallet::fixed_from_hex<32>(net::json_field<std::string>(body, "weights"));
  if (!digest) throw std::invalid_argument("field 'weights' must be 32 bytes of hex");
  report.digest = *digest;
  return report;
}

}  // namespace

void ChecksController::mount(httplib::Server& server) {
  namespace api = protocol::hub_api;
  server.Post(api::kWeights, [this](const httplib::Request& request, httplib::Response& response) {
    const auto sent = read_signed(verifier_, request, Replays::Harmless);
    checks_.report_weights(weights_report(sent.sender, sent.body));
    net::reply_json(response, 200, {{"ok", true}});
  });
  server.Post(api::kChecks, [this](const httplib::Request& request, httplib::Response& response) {
    const auto sent = read_signed(verifier_, request, Replays::Harmless);
    net::reply_json(response, 200, checks_.report_check(sent.sender, protocol::check_report_from_json(sent.body)));
  });
  server.Get(api::kCheckSummary, [this](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, checks_.summary());
  });
}

}  // namespace tessera::hub
