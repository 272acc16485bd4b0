// /admin/runs over cpp-httplib, behind the admin token (see runs_controller.h).
#include "core/hub/runs_controller.h"

#include <httplib.h>

#include <stdexcept>

#include "core/hub/admin_token.h"
#include "core/hub/hub_host.h"
#include "core/hub/admin_reply.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_admin_api.h"

namespace tessera::hub {
namespace {

namespace api = protocol::hub_admin_api;

const char* change_name(RunRegistry::Change change) {
  switch (change) {
    case RunRegistry::Change::Added: return "added";
    case RunRegistry::Change::Updated: return "updated";
    case RunRegistry::Change::Unchanged: return "unchanged";
  }
  return "unchanged";
}

template <typename Route>
void guarded(const AdminToken& token, const httplib::Request& request, httplib::Response& response, Route&& route) {
  try {
    admin_reply(token.admits(request), response, route);
  } catch (const std::runtime_error& error) {  // a run that could not be built now
    net::reply_error(response, 503, error.what());
  }
}

protocol::HubRunInfo info_of(const HubHost& host, const std::string& run_id) {
  for (const auto& run : host.runs())
    if (run.run == run_id) return run;
  throw std::out_of_range("this hub serves no run " + run_id);
}

}  // namespace

RunsController::RunsController(HubHost& host, std::shared_ptr<const AdminToken> token)
    : host_(host), token_(std::move(token)) {
  routes_.Get(api::kRuns, [this](const httplib::Request& request, httplib::Response& response) {
    guarded(*token_, request, response, [&] {
      nlohmann::json runs = nlohmann::json::array();
      for (const auto& run : host_.runs()) runs.push_back(protocol::to_json(run));
      return nlohmann::json{{"runs", runs}};
    });
  });
  routes_.Post(api::kRuns, [this](const httplib::Request& request, httplib::Response& response) {
    guarded(*token_, request, response, [&] {
      const auto body = net::json_object_body(request);
      if (!body.contains("manifest")) throw std::invalid_argument("missing field 'manifest'");
      const auto manifest = protocol::manifest_from_json(body.at("manifest"));
      const auto change = host_.put(manifest);
      return nlohmann::json{{"change", change_name(change)}, {"run", protocol::to_json(info_of(host_, manifest.run_id))}};
    });
  });
  routes_.Post(api::kRetireRun, [this](const httplib::Request& request, httplib::Response& response) {
    guarded(*token_, request, response, [&] {
      const auto run = net::json_field<std::string>(net::json_object_body(request), "run");
      host_.retire(run);
      return nlohmann::json{{"run", protocol::to_json(info_of(host_, run))}};
    });
  });
}

}  // namespace tessera::hub
