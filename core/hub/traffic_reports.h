// The members' traffic, as each one's heartbeat last reported it (issue #19): the bytes its
// connections carried by kind and the tokens it trained (net::TrafficReport). A report is a
// member's word, unverified and only shown: a malformed one (an unknown kind, a count that is not
// an integer in [0, 2^53], too many keys) is ignored with a debug line and never fails the
// heartbeat. Served publicly at GET /api/traffic (counts by node key, as /api/work is):
//   {"nodes": [{"node": hex, "stage": k, "traffic": {"<kind>": {"sent", "received"}, …, "total"},
//               "tokens": n}], "total": {"traffic": {…}, "tokens": n, "bytes_per_token": x or null}}
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/net/traffic_meter.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

class RouteTable;

struct NodeTraffic {
  wallet::PublicKey node{};
  int stage = 0;
  net::TrafficReport report;
};

class TrafficReports {
 public:
  // At most `max_nodes` are kept: a new node beyond them replaces the one heard from longest ago.
  explicit TrafficReports(std::size_t max_nodes = 4096) : max_nodes_(max_nodes) {}

  // A member's heartbeat body: its "traffic" (net::TrafficSnapshot's JSON) and "tokens"; false
  // (and nothing kept) when it has none or they are malformed.
  bool record(const wallet::PublicKey& node, int stage, const nlohmann::json& heartbeat);
  std::vector<NodeTraffic> reports() const;  // by node key
  nlohmann::json to_json() const;             // the GET /api/traffic reply

  void mount(RouteTable& routes);

 private:
  struct Entry {
    int stage = 0;
    net::TrafficReport report;
    std::chrono::steady_clock::time_point heard{};
  };

  std::size_t max_nodes_;
  mutable std::mutex mutex_;
  std::map<wallet::PublicKey, Entry> nodes_;
};

}  // namespace tessera::hub
