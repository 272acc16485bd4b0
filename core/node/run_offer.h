// What the node reads from a hub's catalog entry (GET /api/runs, docs/runs.md) to estimate its fit:
// the run's stages, how many peers serve each, what each stage needs, and the last epoch's
// revenue. A stand-in for protocol::RunCatalogEntry (core/protocol/run_catalog.h) with the same
// field names, validated as strictly: a hub is a stranger.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tessera::node {

struct StageNeed {
  int stage = 0;
  std::uint64_t memory_bytes = 0;
  std::uint64_t parameters = 0;
  double flops_per_token = 0;  // training (forward + backward) of this stage
  double bytes_per_token = 0;  // sent + received on its pipeline links per trained token
};

struct RunOffer {
  std::string run;
  bool retired = false;
  int stages = 0;
  std::vector<std::uint64_t> peers_per_stage;
  std::string currency;
  std::uint64_t last_epoch_revenue = 0;  // micro-units
  std::uint64_t total_units = 0;         // the run's ownership units so far
  std::uint64_t epoch_seconds = 0;
  std::vector<StageNeed> stage_needs;    // one per stage, in stage order
};

inline constexpr int kMaxOfferStages = 1024;

// Throws std::invalid_argument naming the field that is missing, of the wrong type or out of range.
RunOffer run_offer_from_json(const nlohmann::json& entry);

}  // namespace tessera::node
