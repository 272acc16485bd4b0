// `bench swarm`'s inference figures (docs/gateway.md "Throughput"): completion tokens/s through
// the hub's gateway for one client against the same stages chained in one process with the same
// KV cache, the aggregate of 8 concurrent clients against one, and time to first token.
#pragma once

#include <nlohmann/json.hpp>

#include "core/demo/local_network.h"

namespace tessera::cli {

inline constexpr int kInferenceTokens = 48;  // generated per completion measured

nlohmann::json measure_inference(demo::LocalNetwork& network, const demo::LocalNetworkOptions& options);

}  // namespace tessera::cli
