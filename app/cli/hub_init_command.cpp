// `tessera-hub init`: options → RunChoices → draft, shards hashed and copied, signed, written.
#include "app/cli/hub_init_command.h"

#include <sodium.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "core/hub/shard_store.h"
#include "core/model/model_config.h"
#include "core/protocol/data_shard.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/manifest_draft.h"
#include "core/protocol/run_needs.h"
#include "core/sys/durable_file.h"
#include "core/wallet/encoding.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/slip10.h"

namespace tessera::cli {
namespace {

namespace fs = std::filesystem;

struct InitOptions {
  protocol::RunChoices choices;
  std::vector<std::string> dataset{"arithmetic"};
  std::string price = "0";
  std::string publisher_key_file, hub_key_file, hub_public;
  std::string out;
  bool force = false;
};

// A data file as a shard of the publisher's own: its size checked, its bytes hashed.
protocol::ManifestShard shard_of(const fs::path& file) {
  std::error_code error;
  if (!fs::is_regular_file(file, error)) throw std::invalid_argument("--dataset " + file.string() + " is not a file");
  const auto bytes = fs::file_size(file);
  if (bytes == 0 || bytes > protocol::kMaxShardBytes)
    throw std::invalid_argument("--dataset " + file.string() + " has " + std::to_string(bytes) +
                                " bytes: a shard has 1 to " + model::format_bytes(protocol::kMaxShardBytes) +
                                " (split a larger corpus into several files)");
  return {protocol::shard_file_hash(file), bytes, ""};
}

std::vector<protocol::ManifestShard> shards_of(const std::vector<std::string>& dataset) {
  if (dataset.size() == 1 && dataset[0] == "arithmetic") return {};
  std::vector<protocol::ManifestShard> shards;
  for (const auto& name : dataset) {
    if (name == "arithmetic")
      throw std::invalid_argument("--dataset takes either arithmetic or data files, not both");
    shards.push_back(shard_of(name));
  }
  return shards;
}

// Copies each file to <folder>/<hash>, checking that the copy still has the hash the manifest names.
void copy_shards(const std::vector<std::string>& files, const std::vector<protocol::ManifestShard>& shards,
                 const fs::path& folder) {
  hub::ShardStore store(folder);
  for (std::size_t i = 0; i < shards.size(); ++i)
    if (store.add(files[i]) != shards[i].hash)
      throw std::runtime_error(files[i] + " changed while it was copied: run init again");
}

std::uint64_t price_of(const std::string& text) {
  try {
    return static_cast<std::uint64_t>(protocol::parse_currency_amount(text));
  } catch (const std::invalid_argument& bad) {
    throw std::invalid_argument(std::string("--price: ") + bad.what());
  }
}

wallet::PublicKey hub_key_of(const InitOptions& o, const wallet::KeyPair& publisher) {
  if (!o.hub_key_file.empty() && !o.hub_public.empty())
    throw std::invalid_argument("give --hub-key or --hub-public, not both");
  if (!o.hub_key_file.empty()) return wallet::read_solana_keypair_file(o.hub_key_file).public_key();
  if (!o.hub_public.empty()) {
    try {
      return wallet::parse_address(o.hub_public);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("--hub-public must be a base58 public key (the hub key's address)");
    }
  }
  return publisher.public_key();
}

std::string grouped(std::int64_t value) {
  auto digits = std::to_string(value);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(static_cast<std::size_t>(at), ",");
  return digits;
}

std::string scaled(double value) {
  const char* units[] = {"", " k", " M", " G", " T", " P"};
  int unit = 0;
  while (value >= 1000.0 && unit < 5) value /= 1000.0, ++unit;
  std::ostringstream text;
  text << std::setprecision(3) << value << units[unit];
  return text.str();
}

void print_needs(const protocol::RunManifest& m, std::ostream& out) {
  const auto needs = protocol::run_needs(m);
  out << "run " << m.run_id << ": " << m.model.layers << " layers, width " << m.model.width << ", " << m.model.heads
      << " heads, context " << m.model.context << ", vocab " << m.model.vocab << "; " << m.stages
      << (m.stages == 1 ? " stage" : " stages") << ", codec " << m.codec
      << (m.model.subspace_rank > 0 ? " (rank " + std::to_string(m.model.subspace_rank) + ")" : "") << "\n";
  out << "parameters: " << grouped(needs.parameters) << " (" << scaled(static_cast<double>(needs.parameters)) << ")\n";
  out << "stage  layers    parameters     memory  training FLOP/token  link bytes/token\n";
  for (const auto& stage : needs.stages) {
    const auto plan = model::plan_stage(m.model, m.stages, stage.stage);
    const auto layers = std::to_string(plan.first_block) + "-" + std::to_string(plan.end_block - 1);
    out << std::left << std::setw(7) << stage.stage << std::setw(8) << layers << std::right << std::setw(12)
        << grouped(stage.parameters) << std::setw(11) << model::format_bytes(static_cast<std::int64_t>(stage.memory_bytes))
        << std::setw(21) << scaled(stage.flops_per_token) << std::setw(18) << stage.bytes_per_token << "\n";
  }
}

// The key file the hub will need: the one given, the publisher's when it is also the hub key.
std::string hub_key_hint(const InitOptions& o, const protocol::RunManifest& m) {
  if (!o.hub_key_file.empty()) return o.hub_key_file;
  if (m.hub_key == m.publisher_key) return o.publisher_key_file;
  return "HUB_KEY_FILE";
}

void run_init(const InitOptions& o) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  const fs::path out = o.out;
  if (fs::exists(out) && !o.force)
    throw std::invalid_argument(o.out + " exists: choose another --out, or add --force to replace it");
  const auto publisher = wallet::read_solana_keypair_file(o.publisher_key_file);
  auto choices = o.choices;
  choices.hub_key = hub_key_of(o, publisher);
  choices.price_per_1k_tokens = price_of(o.price);
  choices.shards = shards_of(o.dataset);
  auto manifest = protocol::draft_manifest(choices);
  protocol::sign_manifest(manifest, publisher);

  const auto folder = out.has_parent_path() ? out.parent_path() : fs::path(".");
  const auto shard_folder = folder / "shards";
  if (!choices.shards.empty()) copy_shards(o.dataset, choices.shards, shard_folder);
  const auto text = protocol::to_json(manifest).dump(2) + "\n";
  sys::write_file_durably(out, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                          {sys::TempFile::SharedFixed, o.force ? sys::IfExists::Replace : sys::IfExists::Keep, {}});

  print_needs(manifest, std::cout);
  std::uint64_t shard_bytes = 0;
  for (const auto& shard : manifest.shards) shard_bytes += shard.bytes;
  if (manifest.shards.empty()) std::cout << "dataset: arithmetic\n";
  else
    std::cout << "dataset: " << manifest.shards.size() << (manifest.shards.size() == 1 ? " shard, " : " shards, ")
              << model::format_bytes(static_cast<std::int64_t>(shard_bytes)) << ", copied to " << shard_folder.string()
              << "/<hash> for the hub to serve\n";
  std::cout << "price: " << protocol::format_currency_amount(static_cast<std::int64_t>(manifest.price_per_1k_tokens))
            << " " << manifest.currency << " per 1k tokens; epochs of " << manifest.epoch_seconds << " s; "
            << manifest.train.total_steps << " steps\n"
            << "publisher: " << wallet::address_of(manifest.publisher_key)
            << "\nhub key: " << wallet::address_of(manifest.hub_key) << "\n"
            << "wrote " << out.string() << " (signed by the publisher)\n"
            << "serve it: tessera-hub --listen HOST:PORT --manifest " << out.string() << " --hub-key "
            << hub_key_hint(o, manifest) << "\n";
}

void add_options(CLI::App& init, InitOptions& o) {
  auto& c = o.choices;
  init.add_option("--run", c.run_id, "The run's id: 1 to 64 of A-Z a-z 0-9 . _ -")->required();
  init.add_option("--layers", c.layers, "Transformer blocks")->check(CLI::Range(1, 1024))->capture_default_str();
  init.add_option("--width", c.width, "Model width (d_model)")->check(CLI::Range(1, 65536))->capture_default_str();
  init.add_option("--heads", c.heads, "Attention heads, dividing the width (default: width / 64, or a divisor of the width below it)")
      ->check(CLI::Range(1, 4096));
  init.add_option("--context", c.context, "Tokens per sequence")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  init.add_option("--stages", c.stages, "Pipeline stages (at most the layers)")->check(CLI::Range(1, 1024))->capture_default_str();
  init.add_option("--codec", c.codec, "What crosses a stage boundary: none, fp16, int8 or subspace")->capture_default_str();
  init.add_option("--rank", c.subspace_rank, "The subspace codec's rank (default: width / 8, at most 64)")
      ->check(CLI::Range(1, 65536));
  init.add_option("--dataset", o.dataset,
                  "arithmetic, or data files (each becomes a shard named by its BLAKE2b-256 hash, at most 64 MiB)")
      ->expected(1, static_cast<int>(protocol::kMaxShards))
      ->capture_default_str();
  init.add_option("--price", o.price, "Inference price per 1,000 tokens in the currency (e.g. 0.002)")->capture_default_str();
  init.add_option("--currency", c.currency, "The currency prices and revenue are in")->capture_default_str();
  init.add_option("--epoch-seconds", c.epoch_seconds, "Length of a settlement epoch")->capture_default_str();
  init.add_option("--total-steps", c.total_steps, "Training steps (the learning-rate schedule ends here)")->capture_default_str();
  init.add_option("--data-rate", c.data_units_per_1k_tokens,
                  "Data units credited to a shard's contributor per 1,000 trained tokens of it")
      ->capture_default_str();
  init.add_option("--publisher-key,--key", o.publisher_key_file, "The publisher's key (a Solana keypair file): signs the manifest")
      ->required()
      ->check(CLI::ExistingFile);
  init.add_option("--hub-key", o.hub_key_file, "The hub's key (a Solana keypair file); default: the publisher's")
      ->check(CLI::ExistingFile);
  init.add_option("--hub-public", o.hub_public, "The hub's public key (base58) instead of its key file");
  init.add_option("--out", o.out, "Where to write the manifest (JSON); data shards go to its folder's shards/")->required();
  init.add_flag("--force", o.force, "Replace --out when it exists");
}

}  // namespace

void add_init_command(CLI::App& app, bool& ran) {
  auto options = std::make_shared<InitOptions>();
  auto* init = app.add_subcommand("init", "Write a signed run manifest from a few choices, and print what each stage needs");
  add_options(*init, *options);
  init->callback([options, &ran] {
    ran = true;
    run_init(*options);
  });
}

}  // namespace tessera::cli
