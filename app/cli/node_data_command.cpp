// `tessera-node data propose RUN_LINK FILE`: offers a data shard to a run (docs/data.md). The file's
// bytes are the shard (byte-level text, at most 64 MiB); the request is signed with this machine's
// node key and carries its owner's delegation, so an accepted shard's trained tokens credit that
// owner. Prints the shard's hash and its state ("pending review" until the publisher decides).
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "app/cli/commands.h"
#include "app/cli/delegation_file.h"
#include "app/cli/global_options.h"
#include "core/client/hub_client.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/delegation.h"

namespace tessera::cli {
namespace {

struct ProposeOptions {
  std::string link;
  std::string file;
};

std::string read_shard(const std::filesystem::path& file) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  if (error) throw std::runtime_error("cannot read " + file.string() + ": " + error.message());
  if (size == 0) throw std::runtime_error(file.string() + " is empty");
  if (size > protocol::hub_api::kShardBodyLimit)
    throw std::runtime_error(file.string() + " has " + std::to_string(size) + " bytes; a shard has at most " +
                             std::to_string(protocol::hub_api::kShardBodyLimit) + ": split it into several");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return bytes.str();
}

void propose(const GlobalOptions& global, const ProposeOptions& o) {
  const auto data_dir = global.resolved_data_dir();
  const auto delegation = read_delegation(data_dir / "delegation.json");
  const auto key_file = data_dir / wallet::kNodeKeyFileName;
  if (!std::filesystem::exists(key_file)) throw std::runtime_error("no node key at " + key_file.string());
  const auto key = wallet::load_or_create_node_key(key_file);
  const auto bytes = read_shard(o.file);
  client::HubClient hub(o.link, std::chrono::seconds(120));
  const auto reply = hub.propose_shard(key, delegation, bytes);
  const auto state = reply.value("state", std::string());
  std::cout << reply.value("hash", std::string()) << "\n"
            << (state == "pending" ? "pending review by the run's publisher" : state) << " (" << bytes.size()
            << " bytes, contributor " << delegation.owner_address << ")" << std::endl;
}

}  // namespace

void add_data_command(CLI::App& app, const GlobalOptions& global) {
  auto* data = app.add_subcommand("data", "Data shards: propose your text to a run");
  data->require_subcommand(1);
  auto o = std::make_shared<ProposeOptions>();
  auto* propose_command = data->add_subcommand(
      "propose", "Upload FILE (text, at most 64 MiB) as a shard for the run's publisher to review; "
                 "its trained tokens credit your wallet once accepted");
  propose_command->add_option("run", o->link, "The run's link (tessera://host:port/<run>#<publisher>)")->required();
  propose_command->add_option("file", o->file, "The shard's bytes")->required()->check(CLI::ExistingFile);
  propose_command->callback([&global, o] { propose(global, *o); });
}

}  // namespace tessera::cli
