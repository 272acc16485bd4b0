// The tessera-node commands; each adds its subcommand (and its callback) to the app.
#pragma once

namespace CLI {
class App;
}

namespace tessera::cli {

struct GlobalOptions;

void add_doctor_command(CLI::App& app, const GlobalOptions& global);

}  // namespace tessera::cli
