// The `bench` command group; each benchmark registers itself under it.
#include <CLI/CLI.hpp>

#include "app/cli/commands.h"

namespace tessera::cli {

CLI::App* add_bench_group(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks: each prints one JSON object comparing two ways of "
                                            "doing the same work on this machine");
  bench->require_subcommand(1);
  return bench;
}

}  // namespace tessera::cli
