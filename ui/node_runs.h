// The Runs page's data: the node's runs report (control::RunsReport, GET /v1/runs: the current
// run, what the node is doing, and per run its link, the hub's catalog entry and the fit for this
// machine, core/control/run_views.h) with each catalog entry read into the few fields the page
// shows. Built in one place (node_runs_from_report), so the page and its service never read the
// JSON by key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <QMetaType>

#include <nlohmann/json.hpp>

#include "core/control/run_views.h"

namespace tessera::ui {

// The parts of a hub's catalog entry (GET /api/runs, spec #21 section 2) the Runs page shows.
// Read leniently (missing keys keep their defaults) and bounded; core/protocol/run_catalog.h
// (branch h1-hub) will own the full entry and its strict parser.
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
  std::vector<std::uint64_t> peers_per_stage;
  std::uint64_t steps = 0;
  std::optional<double> loss;  // mean of the last reported steps; null before any
  std::uint64_t price_per_1k_tokens = 0;  // micro-units of `currency`
  std::string currency;
  std::uint64_t last_epoch_revenue = 0;   // micro-units

  bool operator==(const RunCatalogInfo&) const = default;
};

struct RunEntry {
  std::string link;
  std::string run;
  std::optional<RunCatalogInfo> catalog;  // null: the hub has not answered (see error)
  std::optional<control::RunFit> fit;     // null: no catalog or no measurement yet
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

// Bounds on what reaches the page (a list rendered as widgets; catalogs come from hubs).
inline constexpr std::size_t kMaxRuns = 64;
inline constexpr std::size_t kMaxStages = 1024;
inline constexpr std::size_t kMaxText = 2048;

// Throws std::runtime_error naming a catalog key of the wrong type, or a list or text over the
// bounds above.
RunCatalogInfo run_catalog_info(const nlohmann::json& catalog);
// A catalog entry the page cannot read becomes that run's error; more than kMaxRuns runs, or
// an over-long activity, throws std::runtime_error.
NodeRuns node_runs_from_report(const control::RunsReport& report);
// The report's JSON, as GET /v1/runs answers it.
NodeRuns node_runs_from_json(const nlohmann::json& json);

}  // namespace tessera::ui

Q_DECLARE_METATYPE(tessera::ui::NodeRuns)
