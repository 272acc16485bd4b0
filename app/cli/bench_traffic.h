// `bench swarm`'s `traffic` (issue #19, docs/swarm.md "Replica averaging"): for S = 3 stages of
// R = 2 replicas, each scheme of replica averaging and boundary codec trains the same steps on
// the same data, and its nodes' traffic reports (core/net/traffic_meter.h, summed by the hub)
// give the bytes per trained token end to end; the scheme is run again behind 80 Mbit/s links.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace tessera::cli {

// What one swarm run's nodes reported, from the hub's GET /api/traffic reply: every byte counted
// once ((sent + received) / 2 over the nodes, so a byte between two nodes is not counted twice)
// by kind, and per token the run trained (`run_tokens`).
nlohmann::json summarize_traffic(const nlohmann::json& hub_traffic, double run_tokens);

// Runs a swarm child with `arguments` for `bench swarm-once` (behind 80 Mbit/s links when
// `limited`) and returns its JSON result.
using SwarmChild = std::function<nlohmann::json(const std::string& arguments, bool limited)>;

// Every scheme twice (unlimited, limited), then compression and loss gaps against exact/none.
nlohmann::json measure_traffic(const SwarmChild& run, int steps, bool quiet);

}  // namespace tessera::cli
