// The hub's data shards on disk (docs/data.md). Accepted shards, served to the nodes of any run
// that names them, are <root>/<hash>; proposals waiting for their publisher's review are
// <root>/pending/<run>/<hash> with <hash>.json (protocol::PendingShard). Content-addressed, so an
// accepted file never changes. Bounded: at most kMaxPendingPerRun proposals wait in a run, and
// kMaxPendingPerOwner of one owner. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/data_shard.h"

namespace tessera::hub {

enum class ProposalOutcome { Stored, AlreadyPending, AlreadyAccepted, RunFull, OwnerFull };

struct ProposalResult {
  ProposalOutcome outcome = ProposalOutcome::Stored;
  protocol::PendingShard shard;
};

class ShardStore {
 public:
  static constexpr std::size_t kMaxPendingPerRun = 64;
  static constexpr std::size_t kMaxPendingPerOwner = 8;

  // `root`: <state dir>/shards (created when first written).
  explicit ShardStore(std::filesystem::path root);

  // Keeps `bytes` as a proposal to `run` (the caller checked that they hash to shard.hash).
  // Throws std::invalid_argument for a run id or hash that cannot name a file.
  ProposalResult propose(const protocol::PendingShard& shard, std::string_view bytes);
  // The proposals waiting in `run` (every run's when empty), oldest first.
  std::vector<protocol::PendingShard> pending(const std::string& run = {}) const;
  // Drops a proposal; accept() moves its file to the accepted shards. Both answer the proposal and
  // throw std::out_of_range when `run` has no such proposal.
  protocol::PendingShard reject(const std::string& run, const std::string& hash);
  protocol::PendingShard accept(const std::string& run, const std::string& hash);
  // Copies a file into the accepted shards (the publisher's own data); answers its hash.
  std::string add(const std::filesystem::path& file);
  // The accepted shard's file, when there is one.
  std::optional<std::filesystem::path> accepted(const std::string& hash) const;

 private:
  std::filesystem::path run_folder(const std::string& run) const;  // throws for a run id unfit for a path
  std::vector<protocol::PendingShard> read_pending(const std::filesystem::path& folder) const;
  protocol::PendingShard take(const std::string& run, const std::string& hash);  // removes its record

  std::filesystem::path root_;
  mutable std::mutex mutex_;
};

}  // namespace tessera::hub
