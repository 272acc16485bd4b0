// tessera-hub: publishes a training run (the signed manifest), admits and assigns nodes, keeps the
// peer directory and verifies their receipts (core/hub/hub_service.h).
#include <csignal>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/global_options.h"
#include "app/cli/run_cli.h"
#include "core/hub/hub_service.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/secure_file.h"

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
  app.callback([&] {
    if (listen.empty() && manifest_file.empty()) {
      std::cout << app.help();
      return;
    }
    if (listen.empty() || manifest_file.empty()) throw std::invalid_argument("--listen and --manifest go together");
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--listen must be HOST:PORT");
    auto manifest = tessera::protocol::manifest_from_json(
        nlohmann::json::parse(tessera::wallet::read_file_text(manifest_file, 1 << 20)));
    if (!key_file.empty()) {
      const auto key = tessera::wallet::read_solana_keypair_file(key_file);
      manifest.publisher_key = key.public_key();
      if (manifest.hub_key == tessera::wallet::PublicKey{}) manifest.hub_key = key.public_key();
      tessera::protocol::sign_manifest(manifest, key);
    }
    if (!tessera::protocol::verify_manifest(manifest, manifest.publisher_key))
      throw std::invalid_argument("the manifest is not signed by its publisher key (give --key to sign it)");
    tessera::hub::HubOptions options;
    options.host = listen.substr(0, colon);
    options.port = std::stoi(listen.substr(colon + 1));
    std::unique_ptr<tessera::wallet::KeyPair> hub_key;
    if (!hub_key_file.empty())
      hub_key = std::make_unique<tessera::wallet::KeyPair>(tessera::wallet::read_solana_keypair_file(hub_key_file));
    else if (!key_file.empty() && manifest.hub_key == manifest.publisher_key)
      hub_key = std::make_unique<tessera::wallet::KeyPair>(tessera::wallet::read_solana_keypair_file(key_file));
    if (hub_key) {
      options.hub_key = hub_key.get();
      options.state_dir = global.resolved_data_dir() / "hub";
    }
    if (!api_keys_file.empty()) {
      std::istringstream lines(tessera::wallet::read_file_text(api_keys_file, 1 << 20));
      for (std::string line; std::getline(lines, line);)
        if (!line.empty() && line[0] != '#') options.api_keys.push_back(line);
      if (options.api_keys.empty()) throw std::invalid_argument(api_keys_file + " holds no API key");
    }
    tessera::hub::HubService hub(manifest, options);
    hub.start();
    if (hub_key)
      std::cerr << "gateway: " << hub.gateway_url() << " (epochs of " << manifest.epoch_seconds << " s)" << std::endl;
    else
      std::cerr << "no --hub-key: this hub neither settles epochs nor serves the gateway" << std::endl;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::cerr << "serving run " << manifest.run_id << " at " << hub.url() << std::endl;
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    hub.stop();
  });
  return tessera::cli::run_cli(app, argc, argv);
}
