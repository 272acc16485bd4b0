// tessera-hub's assembly: manifest, keys, service, serve loop.
#include "core/hub/hub_daemon.h"

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/hub/hub_service.h"
#include "core/protocol/manifest.h"
#include "core/sys/paths.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/secure_file.h"

namespace tessera::hub {

HubDaemon::HubDaemon(const HubDaemonOptions& config, std::ostream& log) : log_(log) {
  const auto colon = config.listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("--listen must be HOST:PORT");
  auto manifest =
      protocol::manifest_from_json(nlohmann::json::parse(wallet::read_file_text(config.manifest_file, 1 << 20)));
  if (!config.publisher_key_file.empty()) {
    const auto key = wallet::read_solana_keypair_file(config.publisher_key_file);
    manifest.publisher_key = key.public_key();
    if (manifest.hub_key == wallet::PublicKey{}) manifest.hub_key = key.public_key();
    protocol::sign_manifest(manifest, key);
  }
  if (!protocol::verify_manifest(manifest, manifest.publisher_key))
    throw std::invalid_argument("the manifest is not signed by its publisher key (give --key to sign it)");
  HubOptions options;
  options.host = config.listen.substr(0, colon);
  options.port = std::stoi(config.listen.substr(colon + 1));
  if (!config.hub_key_file.empty())
    hub_key_ = std::make_unique<wallet::KeyPair>(wallet::read_solana_keypair_file(config.hub_key_file));
  else if (!config.publisher_key_file.empty() && manifest.hub_key == manifest.publisher_key)
    hub_key_ = std::make_unique<wallet::KeyPair>(wallet::read_solana_keypair_file(config.publisher_key_file));
  if (hub_key_) options.hub_key = hub_key_.get();
  options.state_dir = sys::resolve_data_dir(config.data_dir) / "hub";  // members and receipts, with or without a hub key
  if (!config.api_keys_file.empty()) {
    std::istringstream lines(wallet::read_file_text(config.api_keys_file, 1 << 20));
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && line[0] != '#') options.api_keys.push_back(line);
    if (options.api_keys.empty()) throw std::invalid_argument(config.api_keys_file.string() + " holds no API key");
  }
  hub_ = std::make_unique<HubService>(manifest, options);
  hub_->start();
  if (hub_key_)
    log_ << "gateway: " << hub_->gateway_url() << " (epochs of " << manifest.epoch_seconds << " s)" << std::endl;
  else
    log_ << "no --hub-key: this hub neither settles epochs nor serves the gateway" << std::endl;
}

HubDaemon::~HubDaemon() = default;

void HubDaemon::serve(const std::atomic<bool>& stop) {
  log_ << "serving run " << hub_->manifest().run_id << " at " << hub_->url() << std::endl;
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  hub_->stop();
}

}  // namespace tessera::hub
