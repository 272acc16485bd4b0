// What the node reports about itself (GET /v1/status, and the answer to start, pause and snooze):
// one struct with its JSON form, used by the node that fills it, the control API that carries it
// and the desktop app that shows it. The JSON keys are the field names (curl users read them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/client/node_work.h"
#include "core/net/traffic_meter.h"

namespace tessera::control {

struct NodeStatus {
  std::string state;             // starting, joining, waiting, running, paused, snoozed, excluded or error
  std::string reason;            // why it is in that state, in words; empty when there is nothing to say
  std::string network;           // "local" or the hub URL
  std::string run;               // the run's id; empty until joined
  int stage = -1;                // this node's stage; -1 until joined
  int stages = 0;
  std::int64_t step = 0;         // the last committed step
  double step_rate = 0;          // steps per second
  std::optional<double> loss;    // null until a step has a loss
  double tokens_per_s = 0;
  std::string device;            // cpu, cuda, cuda:N
  std::optional<double> temperature_c;  // null: unknown
  std::string codec;             // the run's boundary codec
  double bytes_per_token = 0;    // per boundary, of the last step
  std::string ledger;            // the contribution log's path
  int peers = 0;                 // peers this node knows of
  // What the hub counts of this node's work in its latest epochs, newest first (GET /api/work:
  // unsigned, "so far, as the hub counts it"); JSON {"verification": {"epochs": [...]}}.
  client::NodeWork verification;
  // What this node's connections carried, by kind, and per token it trained (issue #19); JSON
  // {"traffic": {"bytes": {"<kind>": {"sent", "received"}, …, "total"}, "tokens", "bytes_per_token"}}.
  net::TrafficReport traffic;
  // How peers reach this node (issue 18): "direct", "port mapping" (UPnP-IGD or NAT-PMP on the
  // router), "relay", "unchecked" (the hub did not check) or "unreachable"; empty before joining.
  // JSON {"reachability": {"how", "endpoint", "detail"}}.
  std::string reachability;
  std::string endpoint;             // the endpoint peers use
  std::string reachability_detail;  // e.g. "UPnP-IGD on 192.0.2.1: 198.51.100.1:7000", "relay 3f2a… at …"

  nlohmann::json to_json() const;
  // Keys that are missing or null keep their defaults; a key of the wrong type (or a
  // "verification" that client::node_work_from_json refuses) throws std::runtime_error naming it.
  static NodeStatus from_json(const nlohmann::json& json);

  bool operator==(const NodeStatus&) const = default;
};

}  // namespace tessera::control
