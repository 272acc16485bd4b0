// The node's runs as the control API carries them (GET /v1/runs and the answers to the runs
// commands, docs/runs.md): the runs its user added, each with the hub's catalog entry, the fit of
// this machine for it, or why neither could be had; which run the node is in now and what it is
// doing. One struct per object with its JSON form, used by the node that fills it, the control
// API that carries it and the desktop app that shows it. The JSON keys are the field names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::control {

// What this machine would do in a run, before joining it (core/node/run_fit.h computes it). Every
// number is an estimate ("estimate": true in JSON) at the run's current rates.
struct RunFit {
  bool fits = false;
  std::string why;                        // why it does not fit; empty when it fits
  std::optional<int> stage;               // the stage the hub would assign; none when no stage fits
  int stages = 0;
  std::uint64_t memory_needed_bytes = 0;  // the stage's (the smallest stage's when none fits)
  std::uint64_t memory_available_bytes = 0;
  std::string memory_of;                  // what memory_available_bytes is: "RAM", "GPU cuda:0 …", "memory limit"
  std::optional<double> tokens_per_s;     // trained tokens/s on that stage; none without a measured rate
  double flops_per_token = 0;             // that stage's training FLOPs per token
  double units_per_day = 0;               // ownership units a day of that work earns
  double revenue_per_day = 0;             // micro-units of `currency` a day, at the last epoch's revenue
  std::string currency;
  std::string basis;                      // how the numbers were estimated, in words

  nlohmann::json to_json() const;
  // Throws std::runtime_error naming a field of the wrong type.
  static RunFit from_json(const nlohmann::json& json);
  bool operator==(const RunFit&) const = default;
};

// One run the user added.
struct RunView {
  std::string link;                        // tessera://host:port/<run>#<publisher>
  std::string run;                         // the run id the link names
  std::optional<nlohmann::json> catalog;   // the hub's catalog entry (GET /api/runs), as it sent it
  std::optional<RunFit> fit;
  std::string error;                       // why there is no catalog or no fit (e.g. the hub did not answer)

  nlohmann::json to_json() const;
  static RunView from_json(const nlohmann::json& json);
  bool operator==(const RunView&) const = default;
};

struct RunsReport {
  std::optional<std::string> current;  // the run the node is in (or joining); none when idle
  std::string activity;                // "idle", "joining …", "fetching …", "training stage k of n …", "leaving …"
  std::vector<RunView> runs;

  nlohmann::json to_json() const;
  static RunsReport from_json(const nlohmann::json& json);
  bool operator==(const RunsReport&) const = default;
};

}  // namespace tessera::control
