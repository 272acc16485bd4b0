// tessera-hub: publishes a training run (the signed manifest), admits and assigns nodes, keeps the
// peer directory and verifies their receipts (core/hub/hub_daemon.h does the work); `bench`
// measures it under load (app/cli/hub_bench.h).
#include <atomic>
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli/global_options.h"
#include "app/cli/hub_bench.h"
#include "app/cli/run_cli.h"
#include "core/hub/hub_daemon.h"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tessera hub: run manifests, joining, receipt verification and settlement"};
  app.name("tessera-hub");
  tessera::cli::GlobalOptions global;
  tessera::cli::add_global_options(app, global, "tessera-hub");
  std::string listen, manifest_file, key_file;
  app.add_option("--listen", listen, "Address to serve on, HOST:PORT (e.g. 127.0.0.1:8800)");
  app.add_option("--manifest", manifest_file, "The run manifest (JSON); signed with --key when not signed yet");
  app.add_option("--key", key_file, "The publisher's key (a Solana keypair file) that signs the manifest");
  std::string hub_key_file, api_keys_file;
  app.add_option("--hub-key", hub_key_file,
                 "The run's hub key named in the manifest (a Solana keypair file; --key when it is the same): "
                 "with it the hub settles epochs, signs statements and serves the inference gateway");
  app.add_option("--api-keys", api_keys_file, "Gateway client keys, one per line (without it the gateway is open)");
  bool benched = false;
  tessera::cli::hub_bench::add_bench_command(app, benched);
  app.callback([&] {
    if (benched) return;
    if (listen.empty() && manifest_file.empty()) {
      std::cout << app.help();
      return;
    }
    if (listen.empty() || manifest_file.empty()) throw std::invalid_argument("--listen and --manifest go together");
    tessera::hub::HubDaemon hub({listen, manifest_file, key_file, hub_key_file, api_keys_file, global.data_dir},
                                std::cerr);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    hub.serve(g_stop);
  });
  return tessera::cli::run_cli(app, argc, argv);
}
