// `bench swarm`'s `relay` (issue 18): what a relay costs. The same local swarm (3 stage processes)
// trains the same steps with every peer reached directly and with every peer but the first
// reached through a relay the first offers (LocalNetworkOptions::relayed: every pipeline hop then
// crosses the relay, both ways), for codecs none and subspace, on the same loopback links and
// behind 80 Mbit/s ones; tokens/s and their ratio. And the extra latency one relay hop adds: the
// median round trip of a small CurveZMQ request through a RelayLink against the same request
// direct, on loopback, in this process.
#pragma once

#include <nlohmann/json.hpp>

#include "app/cli/bench_traffic.h"

namespace tessera::cli {

nlohmann::json measure_relay(const SwarmChild& run, int steps, bool quiet);
// The `hop` part alone (`tessera-node bench relay-hop`).
nlohmann::json relay_hop_latency();

}  // namespace tessera::cli
