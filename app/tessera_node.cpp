// tessera-node: the contributor daemon and command-line tool.
#include <csignal>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "app/cli/run_cli.h"

int main(int argc, char** argv) {
  // A peer that closes a TLS connection while OpenSSL writes to it (SSL_write has no MSG_NOSIGNAL)
  // must be an error on that connection, not SIGPIPE ending the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Tessera contributor node: trains one stage of an open model and keeps your contribution log"};
  app.name("tessera-node");
  tessera::cli::GlobalOptions global;
  tessera::cli::add_global_options(app, global, "tessera-node");
  // The engine backend (core/engine/backend_loader.h), passed on to the node processes it starts.
  app.add_option_function<std::string>(
         "--backend", [](const std::string& name) { setenv("TESSERA_BACKEND", name.c_str(), 1); },
         "Engine backend: auto (CUDA when the NVIDIA driver sees a GPU and it is installed), cpu or cuda; "
         "default: $TESSERA_BACKEND, else auto")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  tessera::cli::add_doctor_command(app, global);
  CLI::App* bench = tessera::cli::add_bench_group(app);
  tessera::cli::add_bench_settle(*bench);
  tessera::cli::add_wallet_command(app, global);
  tessera::cli::add_bench_wallet(*bench);
  tessera::cli::add_log_command(app, global);
  tessera::cli::add_log_bench(*bench);
  tessera::cli::add_train_command(app, global);
  tessera::cli::add_bench_engine_command(*bench);
  tessera::cli::add_run_command(app, global);
  tessera::cli::add_status_command(app, global);
  tessera::cli::add_runs_command(app, global);
  tessera::cli::add_demo_command(app, global);
  tessera::cli::add_data_command(app, global);
  tessera::cli::add_bench_swarm_command(*bench, global);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  return tessera::cli::run_cli(app, argc, argv);
}
