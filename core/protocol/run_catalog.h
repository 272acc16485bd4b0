// A hub's catalog of the runs it serves (GET /api/runs; issue 21, spec section 2): per run, where
// it is, who publishes it, the model and its size, stages and peers, steps and recent loss, price
// and last epoch's revenue, and what each stage needs (memory, parameters, FLOPs and link bytes
// per trained token). One struct and one bounded, validated parser shared by the hub that serves
// it, the node that fits itself to a run, and the app that shows it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::protocol {

// GET, public, hub-level (never under /runs/<run>).
inline constexpr char kRunCatalogPath[] = "/api/runs";

// What a parser reads at most: a reply of kMaxCatalogBytes, kMaxCatalogRuns runs, a run of
// kMaxCatalogStages stages and kMaxCatalogDataset dataset entries, strings of kMaxCatalogString.
inline constexpr std::size_t kMaxCatalogBytes = 8 * 1024 * 1024;
inline constexpr std::size_t kMaxCatalogRuns = 1000;
inline constexpr std::size_t kMaxCatalogStages = 1024;
inline constexpr std::size_t kMaxCatalogDataset = 10000;  // a manifest's most shards (manifest.h kMaxShards)
inline constexpr std::size_t kMaxCatalogString = 512;

struct CatalogStageNeeds {
  int stage = 0;
  std::uint64_t memory_bytes = 0;  // fp32 training with a step's micro-batches in flight
  std::uint64_t parameters = 0;
  double flops_per_token = 0.0;    // training (forward + backward) of this stage per token
  double bytes_per_token = 0.0;    // sent + received on its pipeline links per trained token, at the codec
};

struct CatalogModel {
  int layers = 0;
  int width = 0;
  int heads = 0;
  int context = 0;
  int vocab = 0;
  int subspace_rank = 0;
};

struct RunCatalogEntry {
  std::string run;
  std::string url;        // https://host:port/runs/<run> (http:// on a plain-HTTP hub)
  std::string link;       // tessera://host:port/<run>#<publisher>; "" without TLS
  std::string publisher;  // base58
  std::uint64_t revision = 0;
  bool retired = false;   // listed, but joins are refused (410)
  CatalogModel model;
  std::uint64_t parameters = 0;
  std::string codec;
  std::vector<std::string> dataset;
  int stages = 0;
  std::vector<std::uint64_t> peers_per_stage;  // one per stage
  std::vector<std::uint64_t> ready_per_stage;  // one per stage
  std::uint64_t steps = 0;                     // how many steps the run has committed
  std::optional<double> loss;                  // mean of the last reported steps' loss
  std::uint64_t tokens_per_step = 0;
  std::uint64_t price_per_1k_tokens = 0;       // micro-units of `currency`
  std::string currency;
  std::uint64_t last_epoch = 0;                // the latest statement's epoch (0: none yet)
  std::uint64_t last_epoch_revenue = 0;        // its revenue, micro-units
  std::uint64_t total_units = 0;
  std::int64_t epoch_seconds = 0;
  std::uint64_t data_units_per_1k_tokens = 0;
  std::vector<CatalogStageNeeds> stage_needs;         // one per stage
};

struct RunCatalog {
  std::vector<RunCatalogEntry> runs;
};

nlohmann::json to_json(const CatalogStageNeeds& needs);
nlohmann::json to_json(const RunCatalogEntry& entry);
nlohmann::json to_json(const RunCatalog& catalog);  // {"runs": [...]}

// Throw std::invalid_argument naming the field that is missing, mistyped, out of range or too
// long, or a per-stage list whose length is not `stages`.
RunCatalogEntry run_catalog_entry_from_json(const nlohmann::json& value);
RunCatalog run_catalog_from_json(const nlohmann::json& value);
// The reply's text, parsed within kMaxCatalogBytes and a nesting depth of 8, then as above.
RunCatalog parse_run_catalog(std::string_view text);

}  // namespace tessera::protocol
