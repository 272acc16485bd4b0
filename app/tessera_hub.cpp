// tessera-hub: publishes a training run (the signed manifest), admits and assigns nodes, keeps the
// peer directory and verifies their receipts (core/hub/hub_daemon.h does the work); `keys` manages
// the gateway's API keys through the running hub (app/cli/keys_command.h); `init` writes a run's
// signed manifest (app/cli/hub_init_command.h); `bench` measures it
// under load (app/cli/hub_bench.h).
#include <atomic>
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli/global_options.h"
#include "app/cli/hub_bench.h"
#include "app/cli/hub_data_command.h"
#include "app/cli/hub_init_command.h"
#include "app/cli/keys_command.h"
#include "app/cli/run_cli.h"
#include "core/hub/hub_daemon.h"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  // A peer that closes a TLS connection while OpenSSL writes to it (SSL_write has no MSG_NOSIGNAL)
  // must be an error on that connection, not SIGPIPE ending the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"Tessera hub: run manifests, joining, receipt verification and settlement"};
  app.name("tessera-hub");
  tessera::cli::GlobalOptions global;
  tessera::cli::add_global_options(app, global, "tessera-hub");
  tessera::hub::HubDaemonOptions options;
  app.add_option("--listen", options.listen, "Address to serve on, HOST:PORT (e.g. 127.0.0.1:8800)");
  app.add_option("--manifest", options.manifest_file, "The run manifest (JSON); signed with --key when not signed yet");
  app.add_option("--key", options.publisher_key_file, "The publisher's key (a Solana keypair file) that signs the manifest");
  app.add_option("--hub-key", options.hub_key_file,
                 "The run's hub key named in the manifest (a Solana keypair file; --key when it is the same): "
                 "with it the hub settles epochs, signs statements and serves the inference gateway");
  app.add_option("--gateway-listen", options.gateway_listen,
                 "Address of the inference gateway's own server, HOST:PORT (default: the --listen host, its port + 1)");
  app.add_flag("--open-gateway", options.open_gateway,
               "Also serve requests without an API key, as demo usage that earns nothing (keys: `keys add`)");
  app.add_option("--max-completions", options.max_concurrent_completions,
                 "Completions served at once; more are answered 429 with Retry-After")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--check-rate", options.check_rate,
                 "Spot checks: the chance that a node's work in a committed step is recomputed by another node "
                 "(0 disables them)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--reachability-timeout-ms", options.reachability_timeout_ms,
                 "Before assigning a stage, connect back to the node's endpoint and check its CurveZMQ key for at "
                 "most this long (0: never)")
      ->check(CLI::Range(0, 60000))
      ->capture_default_str();
  app.add_flag("--tls", options.tls,
               "Serve HTTPS on a loopback address too (any other address always serves HTTPS; without "
               "--tls-cert, with a self-signed certificate kept in the state folder and bound to the run by the hub key)");
  app.add_option("--tls-cert", options.tls_cert_file, "The HTTPS certificate (PEM), with --tls-key")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key_file, "The HTTPS certificate's private key (unencrypted PEM, mode 0600)")
      ->check(CLI::ExistingFile);
  app.add_option("--public-host", options.public_host,
                 "The host name or address nodes reach this hub at, as the run link names it "
                 "(default: the --listen host, or this machine's name when listening on all addresses)");
  bool handled = false;
  tessera::cli::hub_bench::add_bench_command(app, handled);
  tessera::cli::add_keys_command(app, global, handled);
  tessera::cli::add_hub_data_command(app, global, handled);
  tessera::cli::add_init_command(app, handled);
  app.callback([&] {
    if (handled) return;
    if (options.listen.empty() && options.manifest_file.empty()) {
      std::cout << app.help();
      return;
    }
    if (options.listen.empty() || options.manifest_file.empty())
      throw std::invalid_argument("--listen and --manifest go together");
    options.data_dir = global.data_dir;
    tessera::hub::HubDaemon hub(options, std::cerr);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    hub.serve(g_stop);
  });
  return tessera::cli::run_cli(app, argc, argv);
}
