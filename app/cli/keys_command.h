// `tessera-hub keys add|list|credit|revoke`: the gateway's API keys and their balances, managed
// through the admin API of the hub running on this data folder (core/protocol/hub_admin_api.h).
// Keys belong to one run (its database, its revenue): `--run RUN`, else the hub's default run.
#pragma once

namespace CLI {
class App;
}

namespace tessera::cli {

struct GlobalOptions;

// Adds `keys` to tessera-hub; `ran` is set when it ran (the hub itself then does not start).
void add_keys_command(CLI::App& app, const GlobalOptions& global, bool& ran);

}  // namespace tessera::cli
