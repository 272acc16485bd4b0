// The members' traffic reports and GET /api/traffic.
#include "core/hub/traffic_reports.h"

#include <algorithm>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"
#include "core/hub/route_table.h"

namespace tessera::hub {

bool TrafficReports::record(const wallet::PublicKey& node, int stage, const nlohmann::json& heartbeat) {
  if (!heartbeat.is_object() || !heartbeat.contains("traffic")) return false;  // an older node: no report
  const auto report = net::TrafficReport::from_json(
      {{"bytes", heartbeat["traffic"]}, {"tokens", heartbeat.contains("tokens") ? heartbeat["tokens"] : nlohmann::json()}});
  if (!report) {
    spdlog::debug("ignored a malformed traffic report from node {}", wallet::to_hex(node).substr(0, 12));
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (!nodes_.contains(node) && nodes_.size() >= max_nodes_) {
    const auto oldest = std::min_element(nodes_.begin(), nodes_.end(),
                                         [](const auto& a, const auto& b) { return a.second.heard < b.second.heard; });
    nodes_.erase(oldest);
  }
  nodes_[node] = Entry{stage, *report, now};
  return true;
}

std::vector<NodeTraffic> TrafficReports::reports() const {
  std::lock_guard lock(mutex_);
  std::vector<NodeTraffic> out;
  out.reserve(nodes_.size());
  for (const auto& [node, entry] : nodes_) out.push_back({node, entry.stage, entry.report});
  return out;
}

nlohmann::json TrafficReports::to_json() const {
  auto nodes = nlohmann::json::array();
  net::TrafficReport total;
  for (const auto& node : reports()) {
    nodes.push_back({{"node", wallet::to_hex(node.node)},
                     {"stage", node.stage},
                     {"traffic", node.report.bytes.to_json()},
                     {"tokens", node.report.tokens}});
    total.bytes += node.report.bytes;
    total.tokens += node.report.tokens;
  }
  const auto per_token = total.bytes_per_token();
  return {{"nodes", std::move(nodes)},
          {"total",
           {{"traffic", total.bytes.to_json()},
            {"tokens", total.tokens},
            {"bytes_per_token", per_token ? nlohmann::json(*per_token) : nlohmann::json()}}}};
}

void TrafficReports::mount(RouteTable& routes) {
  routes.Get(protocol::hub_api::kTraffic, [this](const httplib::Request&, httplib::Response& response) {
    net::reply_json(response, 200, to_json());
  });
}

}  // namespace tessera::hub
