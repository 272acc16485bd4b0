// `tessera-hub runs add FILE | list | retire RUN`: the runs a hub serves, changed while it serves
// through the admin API of the hub running on this data folder (core/protocol/hub_admin_api.h).
#pragma once

namespace CLI {
class App;
}

namespace tessera::cli {

struct GlobalOptions;

// Adds `runs` to tessera-hub; `ran` is set when it ran (the hub itself then does not start).
void add_hub_runs_command(CLI::App& app, const GlobalOptions& global, bool& ran);

}  // namespace tessera::cli
