// The driver's corpus: the run's shards from the cache, or its single dataset entry.
#include "core/node/swarm/training_data.h"

#include <spdlog/spdlog.h>

#include "core/client/shard_fetcher.h"
#include "core/node/swarm/run_context.h"

namespace tessera::node::swarm {

model::DataSource load_training_data(const RunContext& run, client::HubClient& hub, control::EventBus* events) {
  const auto& manifest = run.manifest;
  if (manifest.shards.empty())
    return model::DataSource::from_spec(manifest.dataset.empty() ? "arithmetic" : manifest.dataset.front(),
                                        manifest.model.context, manifest.model.seed);
  std::vector<client::ShardRef> shards;
  for (const auto& shard : manifest.shards) shards.push_back({shard.hash, shard.bytes});
  client::ShardFetcher fetcher(hub, run.options.data_dir / "shards", [events](const client::ShardProgress& progress) {
    if (progress.state != "downloading")
      spdlog::info("data shard {}/{} {}: {} ({} bytes)", progress.index + 1, progress.count, progress.hash.substr(0, 12),
                   progress.state, progress.total);
    if (events)
      events->publish("data", {{"shard", progress.hash},
                               {"index", progress.index},
                               {"count", progress.count},
                               {"done", progress.done},
                               {"total", progress.total},
                               {"state", progress.state}});
  });
  return model::DataSource::from_shard_files(fetcher.fetch(shards), manifest.model.context, manifest.model.seed);
}

}  // namespace tessera::node::swarm
