// What the node says about the runs its user added (GET /v1/runs, spec #21 section 7): which run is
// current, what the node is doing now, and per run its link, the hub's catalog entry (model, stages
// and peers, loss, price: section 2) and the fit for this machine (stage, memory, estimated
// tokens/s, units and revenue per day: core/node/run_fit). Plain data with one parser, so the
// Runs page and its service never read the JSON by key, and a change to the wire is one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <QMetaType>

#include <nlohmann/json.hpp>

namespace tessera::ui {

// The parts of a hub's catalog entry (GET /api/runs) the Runs page shows.
struct RunCatalogInfo {
  std::string run;
  std::string link;
  bool retired = false;
  int layers = 0;
  int width = 0;
  int context = 0;
  std::uint64_t parameters = 0;
  std::string codec;
  int stages = 0;
  std::vector<int> peers_per_stage;
  std::int64_t steps = 0;
  std::optional<double> loss;  // mean of the last reported steps; null before any
  std::uint64_t price_per_1k_tokens = 0;  // micro-units of `currency`
  std::string currency;
  std::uint64_t last_epoch_revenue = 0;   // micro-units

  bool operator==(const RunCatalogInfo&) const = default;
};

// The fit of a run for this machine; every number is an estimate.
struct RunFit {
  bool fits = false;
  int stage = -1;                         // the stage it would get; -1 when it does not fit
  std::uint64_t memory_needed_bytes = 0;  // by that stage (the smallest stage's when none fits)
  std::uint64_t memory_available_bytes = 0;  // this machine's device
  std::string device;                     // cpu, cuda, …
  double tokens_per_s = 0;
  double units_per_day = 0;
  double revenue_per_day = 0;             // micro-units of the run's currency
  std::string reason;                     // why it does not fit (empty when it does)

  bool operator==(const RunFit&) const = default;
};

struct RunEntry {
  std::string link;
  std::string run;
  std::optional<RunCatalogInfo> catalog;  // null: the hub has not answered (see error)
  std::optional<RunFit> fit;              // null: no catalog or no doctor report yet
  std::string error;                      // why the catalog or fit is missing, in words

  bool operator==(const RunEntry&) const = default;
};

struct NodeRuns {
  std::optional<std::string> current;  // the run the node works on; null when idle
  std::string activity;                // what the node is doing now, in words
  std::vector<RunEntry> runs;

  bool operator==(const NodeRuns&) const = default;
  const RunEntry* find(const std::string& run) const;
};

// Bounds on what a node may send (a list the app renders as widgets).
inline constexpr std::size_t kMaxRuns = 64;
inline constexpr std::size_t kMaxStages = 1024;
inline constexpr std::size_t kMaxText = 2048;

// Missing or null keys keep their defaults; a key of the wrong type, or a list or text over the
// bounds above, throws std::runtime_error naming it.
NodeRuns node_runs_from_json(const nlohmann::json& json);

}  // namespace tessera::ui

Q_DECLARE_METATYPE(tessera::ui::NodeRuns)
