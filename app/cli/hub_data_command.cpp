// `tessera-hub data …` over the running hub's admin API (see hub_data_command.h).
#include "app/cli/hub_data_command.h"

#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/global_options.h"
#include "app/cli/hub_admin_client.h"
#include "core/hub/hub_daemon.h"
#include "core/hub/shard_store.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/data_shard.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/secure_file.h"
#include "core/wallet/slip10.h"

namespace tessera::cli {
namespace {

namespace api = protocol::hub_admin_api;

struct DataOptions {
  std::vector<std::string> files;
  std::string run;
  std::string hash;
  std::string publisher_key;
  bool json = false;
};

std::string when(std::int64_t ms) {
  const std::time_t seconds = ms / 1000;
  std::ostringstream out;
  out << std::put_time(std::gmtime(&seconds), "%Y-%m-%d %H:%M:%SZ");
  return out.str();
}

std::vector<protocol::PendingShard> pending(AdminClient& admin, const std::string& run) {
  const auto reply = admin.get(std::string(api::kShards) + (run.empty() ? "" : "?run=" + run));
  std::vector<protocol::PendingShard> out;
  for (const auto& item : reply.at("shards")) out.push_back(protocol::pending_shard_from_json(item));
  return out;
}

// The run's manifest as the hub serves it: <state>/runs/<run>.json, checked against its signature.
protocol::RunManifest served_manifest(const GlobalOptions& global, const std::string& run) {
  const auto file = hub::hub_state_dir(global.data_dir) / "runs" / (run + ".json");
  if (!std::filesystem::exists(file))
    throw std::runtime_error("this hub serves no run " + run + " (no " + file.string() + ")");
  auto manifest = protocol::manifest_from_json(nlohmann::json::parse(wallet::read_file_text(file, 16 << 20)));
  if (!protocol::verify_manifest(manifest, manifest.publisher_key))
    throw std::runtime_error(file.string() + " does not verify under its publisher's key");
  return manifest;
}

void list(const GlobalOptions& global, const DataOptions& o) {
  AdminClient admin(global);
  const auto shards = pending(admin, o.run);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& shard : shards) out.push_back(protocol::to_json(shard));
    std::cout << out.dump(2) << std::endl;
    return;
  }
  if (shards.empty()) {
    std::cout << "no shards waiting for review" << std::endl;
    return;
  }
  std::cout << std::left << std::setw(20) << "run" << std::setw(66) << "hash" << std::right << std::setw(12) << "bytes"
            << "  " << std::left << std::setw(46) << "contributor" << "proposed" << "\n";
  for (const auto& shard : shards)
    std::cout << std::left << std::setw(20) << shard.run << std::setw(66) << shard.hash << std::right << std::setw(12)
              << shard.bytes << "  " << std::left << std::setw(46) << shard.contributor << when(shard.proposed_ms)
              << "\n";
  std::cout << std::flush;
}

void accept(const GlobalOptions& global, const DataOptions& o) {
  AdminClient admin(global);
  std::optional<protocol::PendingShard> proposal;
  for (const auto& shard : pending(admin, o.run))
    if (shard.hash == o.hash) proposal = shard;
  if (!proposal)
    throw std::runtime_error("run " + o.run + " has no shard " + o.hash + " waiting for review (tessera-hub data list)");
  // Everything is checked and signed before the hub changes anything.
  const auto current = served_manifest(global, o.run);
  const auto publisher = wallet::read_solana_keypair_file(o.publisher_key);
  if (publisher.public_key() != current.publisher_key)
    throw std::runtime_error(o.publisher_key + " is not the key of run " + o.run + "'s publisher (" +
                             wallet::address_of(current.publisher_key) + ")");
  auto next = protocol::with_shard(current, {proposal->hash, proposal->bytes, proposal->contributor});
  protocol::sign_manifest(next, publisher);
  admin.post(api::kAcceptShard, {{"run", o.run}, {"hash", o.hash}});
  try {
    admin.post(api::kRuns, {{"manifest", protocol::to_json(next)}});
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("the shard's bytes are accepted on the hub, but the run update failed: ") +
                             error.what() + "; the signed manifest was not published");
  }
  std::cout << "shard " << o.hash << " accepted into run " << o.run << " (revision " << next.revision << ", "
            << next.shards.size() << " shard" << (next.shards.size() == 1 ? "" : "s") << "); contributor "
            << proposal->contributor << std::endl;
}

void reject(const GlobalOptions& global, const DataOptions& o) {
  const auto shard = protocol::pending_shard_from_json(
      AdminClient(global).post(api::kRejectShard, {{"run", o.run}, {"hash", o.hash}}));
  std::cout << "shard " << shard.hash << " rejected from run " << shard.run << "; its bytes are deleted" << std::endl;
}

// The publisher's own data (contributor ""), copied into the served shards of the state folder; no
// running hub is needed, and a manifest names them by the hashes printed.
void add(const GlobalOptions& global, const DataOptions& o) {
  hub::ShardStore store(hub::hub_state_dir(global.data_dir) / "shards");
  for (const auto& file : o.files) {
    const auto size = std::filesystem::file_size(file);
    if (size == 0 || size > protocol::hub_api::kShardBodyLimit)
      throw std::runtime_error(file + " has " + std::to_string(size) + " bytes; a shard has 1 to " +
                               std::to_string(protocol::hub_api::kShardBodyLimit) + ": split it");
    std::cout << store.add(file) << "  " << size << "  " << file << std::endl;
  }
}

}  // namespace

void add_hub_data_command(CLI::App& app, const GlobalOptions& global, bool& ran) {
  auto* data = app.add_subcommand("data", "Data shards: your own (add), and those proposed to this hub's runs (list, "
                                          "accept, reject)");
  data->require_subcommand(1);
  auto o = std::make_shared<DataOptions>();
  auto* list_command = data->add_subcommand("list", "The proposals waiting for review: run, hash, bytes, contributor");
  list_command->add_option("--run", o->run, "Only this run's");
  list_command->add_flag("--json", o->json, "Print JSON");
  list_command->callback([&global, o, &ran] {
    ran = true;
    list(global, *o);
  });
  auto* accept_command = data->add_subcommand(
      "accept", "Accept a proposal: sign the run's next manifest revision with the shard appended, and publish it");
  accept_command->add_option("run", o->run, "The run")->required();
  accept_command->add_option("hash", o->hash, "The shard's hash (from list)")->required();
  accept_command->add_option("--publisher-key", o->publisher_key, "The run publisher's key (a Solana keypair file)")
      ->required();
  accept_command->callback([&global, o, &ran] {
    ran = true;
    accept(global, *o);
  });
  auto* add_command = data->add_subcommand(
      "add", "Copy your own text files into this hub's served shards; prints each one's hash and size for the manifest");
  add_command->add_option("files", o->files, "The shards' files (at most 64 MiB each)")->required()->check(CLI::ExistingFile);
  add_command->callback([&global, o, &ran] {
    ran = true;
    add(global, *o);
  });
  auto* reject_command = data->add_subcommand("reject", "Reject a proposal; its bytes are deleted");
  reject_command->add_option("run", o->run, "The run")->required();
  reject_command->add_option("hash", o->hash, "The shard's hash (from list)")->required();
  reject_command->callback([&global, o, &ran] {
    ran = true;
    reject(global, *o);
  });
}

}  // namespace tessera::cli
