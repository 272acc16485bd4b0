// The hub's run registry on disk (see run_registry.h).
#include "core/hub/run_registry.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/sys/json_number.h"
#include "core/wallet/encoding.h"
#include "core/wallet/secure_file.h"

namespace tessera::hub {
namespace {

constexpr std::size_t kMaxManifestBytes = 1 << 20;

std::string key_text(const wallet::PublicKey& key) { return wallet::base58_encode(key); }

}  // namespace

std::uint64_t manifest_revision(const protocol::RunManifest& manifest) { return manifest.revision; }

RunRegistry::RunRegistry(std::filesystem::path state_dir, std::optional<wallet::PublicKey> hub_key)
    : dir_(std::move(state_dir)), hub_key_(hub_key) {}

const RegisteredRun* RunRegistry::find(const std::string& run_id) const {
  for (const auto& run : runs_)
    if (run.manifest.run_id == run_id) return &run;
  return nullptr;
}

RegisteredRun* RunRegistry::known(const std::string& run_id) {
  for (auto& run : runs_)
    if (run.manifest.run_id == run_id) return &run;
  return nullptr;
}

void RunRegistry::load() {
  if (dir_.empty()) return;
  const auto index_file = dir_ / kRunsIndexFileName;
  if (!std::filesystem::exists(index_file)) return;
  const auto damaged = [&](const std::filesystem::path& file, const std::string& why) {
    return std::runtime_error("the hub's run registry is damaged: " + file.string() + ": " + why +
                              " (restore it, or remove it and add the runs again with `tessera-hub runs add`)");
  };
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(wallet::read_file_text(index_file, kMaxManifestBytes));
    for (const auto& item : index.at("runs")) {
      RegisteredRun run;
      const auto id = item.at("run").get<std::string>();
      run.added_ms = sys::json_integer<std::int64_t>(item.at("added_ms"), "added_ms");
      if (!item.at("retired_ms").is_null())
        run.retired_ms = sys::json_integer<std::int64_t>(item.at("retired_ms"), "retired_ms");
      const auto file = dir_ / kRunsFolderName / (id + ".json");
      try {
        run.manifest = protocol::manifest_from_json(nlohmann::json::parse(wallet::read_file_text(file, kMaxManifestBytes)));
      } catch (const std::exception& error) {
        throw damaged(file, error.what());
      }
      if (run.manifest.run_id != id) throw damaged(file, "it is the manifest of run " + run.manifest.run_id);
      if (!protocol::verify_manifest(run.manifest, run.manifest.publisher_key))
        throw damaged(file, "its signature does not verify");
      if (!hub_key_) hub_key_ = run.manifest.hub_key;
      runs_.push_back(std::move(run));
    }
  } catch (const std::runtime_error&) {
    throw;
  } catch (const std::exception& error) {
    throw damaged(index_file, error.what());
  }
}

RunRegistry::Change RunRegistry::check(const protocol::RunManifest& manifest, bool same_revision) const {
  if (!protocol::verify_manifest(manifest, manifest.publisher_key))
    throw std::invalid_argument("the manifest of run " + manifest.run_id +
                                " is not signed by its publisher key: sign it (tessera-hub init, or --key)");
  if (hub_key_ && manifest.hub_key != *hub_key_)
    throw std::invalid_argument("run " + manifest.run_id + " names the hub key " + key_text(manifest.hub_key) +
                                ", but this hub's key is " + key_text(*hub_key_) +
                                ": one hub serves runs of one hub key; have the publisher name this hub's key");
  const auto* run = find(manifest.run_id);
  if (!run) {
    if (runs_.size() >= kMaxRegisteredRuns)
      throw std::invalid_argument("this hub serves " + std::to_string(runs_.size()) + " runs, as many as it may");
    return Change::Added;
  }
  if (run->retired_ms) throw std::invalid_argument("run " + manifest.run_id + " was retired; publish it under a new run id");
  if (manifest.publisher_key != run->manifest.publisher_key)
    throw std::invalid_argument("run " + manifest.run_id + " is published by " + key_text(run->manifest.publisher_key) +
                                "; an update must be signed by the same publisher");
  if (manifest.signature == run->manifest.signature) return Change::Unchanged;
  const auto revision = manifest_revision(manifest), served = manifest_revision(run->manifest);
  if (revision < served || (revision == served && !same_revision))
    throw std::invalid_argument("run " + manifest.run_id + " is served at revision " +
                                std::to_string(manifest_revision(run->manifest)) +
                                "; an update needs a higher revision (got " + std::to_string(manifest_revision(manifest)) +
                                ")");
  return Change::Updated;
}

RunRegistry::Change RunRegistry::put(const protocol::RunManifest& manifest, std::int64_t now_ms, bool same_revision) {
  const auto change = check(manifest, same_revision);
  if (change == Change::Unchanged) return change;
  save_manifest(manifest);
  if (auto* run = known(manifest.run_id)) {
    run->manifest = manifest;
  } else {
    runs_.push_back({manifest, now_ms, std::nullopt});
    if (!hub_key_) hub_key_ = manifest.hub_key;
  }
  save_index();
  return change;
}

void RunRegistry::retire(const std::string& run_id, std::int64_t now_ms) {
  auto* run = known(run_id);
  if (!run) throw std::out_of_range("this hub serves no run " + run_id);
  if (run->retired_ms) return;
  run->retired_ms = now_ms;
  save_index();
}

void RunRegistry::save_manifest(const protocol::RunManifest& manifest) const {
  if (dir_.empty()) return;
  std::filesystem::create_directories(dir_ / kRunsFolderName);
  const auto text = protocol::to_json(manifest).dump(2) + "\n";
  wallet::write_file_atomic(dir_ / kRunsFolderName / (manifest.run_id + ".json"), wallet::as_bytes(text));
}

void RunRegistry::save_index() const {
  if (dir_.empty()) return;
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& run : runs_)
    runs.push_back({{"run", run.manifest.run_id}, {"added_ms", run.added_ms},
                    {"retired_ms", run.retired_ms ? nlohmann::json(*run.retired_ms) : nlohmann::json(nullptr)}});
  std::filesystem::create_directories(dir_);
  const auto text = nlohmann::json{{"runs", runs}}.dump(2) + "\n";
  wallet::write_file_atomic(dir_ / kRunsIndexFileName, wallet::as_bytes(text));
}

}  // namespace tessera::hub
