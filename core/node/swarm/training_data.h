// The training data the step driver reads (docs/data.md): a run whose manifest names shards trains
// on them, in manifest order, from the node's cache (<data dir>/shards, client/shard_fetcher.h),
// fetched from the hub before the first step with each shard's progress published on the event bus
// ("data" events); a run without shards trains on its dataset's one entry ("arithmetic", or a path
// on the driving machine), as before shards.
#pragma once

#include "core/client/hub_client.h"
#include "core/control/event_bus.h"
#include "core/model/data.h"

namespace tessera::node::swarm {

struct RunContext;

// Throws std::runtime_error when a shard cannot be had (client/shard_fetcher.h) or the corpus is
// unusable. `events` may be null.
model::DataSource load_training_data(const RunContext& run, client::HubClient& hub, control::EventBus* events);

}  // namespace tessera::node::swarm
