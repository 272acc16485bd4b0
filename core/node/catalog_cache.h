// The catalog entries of the runs a node knows, fetched from their hubs (GET /api/runs over the
// pinned-TLS client of core/client/hub_http.h) and kept a few seconds, so a page that polls the
// runs does not poll every hub. A hub that does not answer, or answers something invalid, gives
// that run an error, never a failed call. First contact with a link also checks the run's manifest
// under it (add a run: verify()).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/protocol/manifest.h"

namespace tessera::client {
class HubEndpoint;
}

namespace tessera::node {

struct CatalogAnswer {
  std::optional<nlohmann::json> entry;  // the hub's entry for the link's run, checked (protocol::run_catalog_entry_from_json)
  std::string error;                    // why there is none
};

class CatalogCache {
 public:
  explicit CatalogCache(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                        std::chrono::milliseconds fresh_for = std::chrono::milliseconds(5000));
  ~CatalogCache();

  // The entries of these links' runs (in order), fetched together where older than fresh_for.
  // Forgets the links not asked for.
  std::vector<CatalogAnswer> entries(const std::vector<std::string>& links);
  // First contact with `link`: the run's manifest, verified under the link's publisher and run id.
  // Throws std::invalid_argument saying what failed (the link, the hub, the manifest).
  protocol::RunManifest verify(const std::string& link);

 private:
  using Clock = std::chrono::steady_clock;
  struct Slot {
    std::shared_ptr<client::HubEndpoint> endpoint;  // keeps the certificate pinned between fetches
    Clock::time_point fetched{};
    CatalogAnswer answer;
  };
  CatalogAnswer fetch(const std::string& link, std::shared_ptr<client::HubEndpoint>& endpoint) const;

  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds fresh_for_;
  std::mutex mutex_;
  std::map<std::string, Slot> slots_;
};

}  // namespace tessera::node
