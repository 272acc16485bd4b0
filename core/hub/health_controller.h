// GET /api/health: whether the hub serves, how many members it has and how many are ready, and
// what each of its servers answered by outcome (RequestStats: served, malformed, too large, rate
// limited, …). Public: counts only, nothing about who.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

namespace tessera::hub {

class RouteTable;

class HealthController {
 public:
  // `report` builds the reply (HubService::health); it must outlive the server.
  explicit HealthController(std::function<nlohmann::json()> report) : report_(std::move(report)) {}

  void mount(RouteTable& routes);

 private:
  std::function<nlohmann::json()> report_;
};

}  // namespace tessera::hub
