// Parses argv and runs the chosen command, turning errors into a message and an exit status.
#pragma once

namespace CLI {
class App;
}

namespace tessera::cli {

// Exit status: 0 on success, CLI11's code for usage errors, 1 for a failed command.
int run_cli(CLI::App& app, int argc, char** argv);

}  // namespace tessera::cli
