// One place where command errors become "error: …" on stderr and a non-zero exit status.
#include "app/cli/run_cli.h"

#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

namespace tessera::cli {

int run_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    std::cerr << app.get_name() << ": error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace tessera::cli
