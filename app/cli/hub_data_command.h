// `tessera-hub data list | accept RUN HASH --publisher-key FILE | reject RUN HASH`: the data shards
// proposed to the runs of the hub running on this data folder (docs/data.md), reviewed through its
// admin API; `data add FILE…` copies the publisher's own shards into its state folder. Accepting signs, here, the run's next manifest revision with the shard appended (the
// publisher's key never reaches the hub) and posts it as a run update.
#pragma once

namespace CLI {
class App;
}

namespace tessera::cli {

struct GlobalOptions;

// Adds `data` to tessera-hub; `ran` is set when it ran (the hub itself then does not start).
void add_hub_data_command(CLI::App& app, const GlobalOptions& global, bool& ran);

}  // namespace tessera::cli
