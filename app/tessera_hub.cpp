// tessera-hub: publishes a training run and settles it.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli/global_options.h"
#include "app/cli/run_cli.h"

int main(int argc, char** argv) {
  CLI::App app{"Tessera hub: run manifests, joining, receipt verification and settlement"};
  app.name("tessera-hub");
  tessera::cli::GlobalOptions global;
  tessera::cli::add_global_options(app, global, "tessera-hub");
  app.callback([&app] {
    if (app.get_subcommands().empty()) std::cout << app.help();
  });
  return tessera::cli::run_cli(app, argc, argv);
}
