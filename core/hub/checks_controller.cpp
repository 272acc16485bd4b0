// Weights digests, check reports and the checks summary over cpp-httplib.
#include "core/hub/checks_controller.h"

#include <httplib.h>

#include "core/hub/signed_request.h"
#include "core/hub/spot_checks.h"
#include "core/net/http_json.h"
#include "core/protocol/spot_check.h"
#include "core/wallet/encoding.h"
#include "core/hub/route_table.h"

namespace tessera::hub {
namespace {

constexpr std::size_t kMaxWeightsReports = 64;  // a node's queue (swarm::EvidenceStore::kReportQueue)

WeightsReport weights_report(const wallet::PublicKey& node, std::uint16_t stage, const nlohmann::json& item) {
  WeightsReport report;
  report.node = node;
  report.stage = stage;
  report.step = net::json_field<std::uint64_t>(item, "step");
  const auto digest = wallet::fixed_from_hex<32>(net::json_field<std::string>(item, "weights"));
  if (!digest) throw std::invalid_argument("field 'weights' must be 32 bytes of hex");
  report.digest = *digest;
  return report;
}

// {"stage", "reports": [{"step", "weights"}, …]} (at most 64), or one as {"step", "stage", "weights"}.
std::vector<WeightsReport> weights_reports(const wallet::PublicKey& node, const nlohmann::json& body) {
  const auto stage = net::json_field<std::uint16_t>(body, "stage");
  const auto list = body.find("reports");
  if (list == body.end()) return {weights_report(node, stage, body)};
  if (!list->is_array() || list->empty() || list->size() > kMaxWeightsReports)
    throw std::invalid_argument("field 'reports' must be a list of 1 to " + std::to_string(kMaxWeightsReports) +
                                " weights reports");
  std::vector<WeightsReport> reports;
  for (const auto& item : *list) {
    if (!item.is_object()) throw std::invalid_argument("each of 'reports' must be an object");
    reports.push_back(weights_report(node, stage, item));
  }
  return reports;
}

}  // namespace

void ChecksController::mount(RouteTable& routes) {
  namespace api = protocol::hub_api;
  routes.Post(api::kWeights, [this](const httplib::Request& request, httplib::Response& response) {
    const auto sent = read_signed(verifier_, request, Replays::Harmless);
    checks_.report_weights(weights_reports(sent.sender, sent.body));
    net::reply_json(response, 200, {{"ok", true}});
  });
  routes.Post(api::kChecks, [this](const httplib::Request& request, httplib::Response& response) {
    const auto sent = read_signed(verifier_, request, Replays::Harmless);
    net::reply_json(response, 200, checks_.report_check(sent.sender, protocol::check_report_from_json(sent.body)));
  });
  routes.Get(api::kCheckSummary, [this](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, checks_.summary());
  });
}

}  // namespace tessera::hub
