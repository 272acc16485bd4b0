// The runs a hub serves, kept in its state folder (issue 21, spec section 3) so a restarted hub
// serves them again: <state>/runs/<run>.json (each the publisher-signed manifest) and
// <state>/runs.json ({"runs": [{"run", "added_ms", "retired_ms" (null while served)}]}, in the
// order they were added), both written atomically. What may change is checked here: one hub key
// per hub, an update only from the run's publisher with a higher revision, nothing after a run
// was retired. Not thread-safe: its owner (HubHost) serialises changes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/manifest.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

struct RegisteredRun {
  protocol::RunManifest manifest;
  std::int64_t added_ms = 0;
  std::optional<std::int64_t> retired_ms;
};

// A manifest's revision (0 for manifests without one).
std::uint64_t manifest_revision(const protocol::RunManifest& manifest);

inline constexpr char kRunsIndexFileName[] = "runs.json";
inline constexpr char kRunsFolderName[] = "runs";
inline constexpr std::size_t kMaxRegisteredRuns = 256;

class RunRegistry {
 public:
  // `state_dir` empty: nothing is written or read (an in-memory hub, as in tests). `hub_key`: the
  // hub's public key (every run must name it); nothing: taken from the first run.
  RunRegistry(std::filesystem::path state_dir, std::optional<wallet::PublicKey> hub_key);

  // Reads the folder; throws std::runtime_error naming a damaged file (a manifest that does not
  // verify, an index naming a missing run).
  void load();

  enum class Change { Added, Updated, Unchanged };
  // What put() would do with `manifest`, writing nothing; throws as put() does.
  // `same_revision`: an update may keep the served revision (the operator's own --manifest,
  // as a one-run hub always allowed).
  Change check(const protocol::RunManifest& manifest, bool same_revision = false) const;
  // Adds `manifest` (signed; checked here) or updates its run. Throws std::invalid_argument with
  // what to do: an unsigned manifest, another hub key, another publisher, a revision not above the
  // served one, a retired run, too many runs.
  Change put(const protocol::RunManifest& manifest, std::int64_t now_ms, bool same_revision = false);
  // Marks the run retired; throws std::out_of_range for an unknown run (a retired one stays so).
  void retire(const std::string& run_id, std::int64_t now_ms);

  const std::vector<RegisteredRun>& runs() const { return runs_; }
  const RegisteredRun* find(const std::string& run_id) const;
  const std::optional<wallet::PublicKey>& hub_key() const { return hub_key_; }

 private:
  RegisteredRun* known(const std::string& run_id);
  void save_manifest(const protocol::RunManifest& manifest) const;
  void save_index() const;

  std::filesystem::path dir_;
  std::optional<wallet::PublicKey> hub_key_;
  std::vector<RegisteredRun> runs_;
};

}  // namespace tessera::hub
