// One run's entry in the hub's catalog (GET /api/runs, core/protocol/run_catalog.h), read from
// its serving HubService: the manifest's model, price and epoch length, the live peers per stage,
// the committed steps and the recent loss, the last published statement, and what each stage
// needs.
#pragma once

#include <string>
#include <vector>

#include "core/protocol/manifest.h"
#include "core/protocol/run_catalog.h"

namespace tessera::hub {

class HubService;

// Where the host serves the run and whether it still admits members.
struct CatalogPlace {
  std::string url;   // https://host:port/runs/<run>
  std::string link;  // tessera://…; "" without TLS
  bool retired = false;
};

// How many of the latest reported steps the catalog's "loss" averages.
inline constexpr std::size_t kCatalogLossSteps = 10;

protocol::RunCatalogEntry catalog_entry(HubService& run, const CatalogPlace& place);

// Per stage: memory, parameters, training FLOPs and link bytes per token (protocol/run_needs.h).
std::vector<protocol::CatalogStageNeeds> stage_needs(const protocol::RunManifest& manifest);

}  // namespace tessera::hub
