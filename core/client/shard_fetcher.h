// A run's data shards in the node's cache (docs/data.md): <cache>/<hash> (the node's
// <data dir>/shards), each downloaded from the hub into <hash>.part, resumed with HTTP Range after a
// cut, and kept under its name only once its bytes hash to it (a corrupt download is deleted, never
// cached). A shard already in the cache is checked (size and hash) and not fetched again. Progress
// goes to a callback, at most a few times a second per shard.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tessera::client {

class HubClient;

// A shard as the manifest names it.
struct ShardRef {
  std::string hash;
  std::uint64_t bytes = 0;
};

struct ShardProgress {
  std::string hash;
  std::size_t index = 0;  // of `count`, in manifest order
  std::size_t count = 0;
  std::uint64_t done = 0;  // bytes in the cache so far
  std::uint64_t total = 0;
  std::string state;  // "cached" (was there), "downloading", "verified" (downloaded and checked)
};

class ShardFetcher {
 public:
  using Progress = std::function<void(const ShardProgress&)>;
  static constexpr int kAttempts = 4;  // downloads of one shard (each resuming the last) before giving up

  // `hub` must outlive the fetcher.
  ShardFetcher(HubClient& hub, std::filesystem::path cache, Progress progress = {});

  // Each shard's cached file, in order, fetching those missing. Throws std::runtime_error naming the
  // shard when it cannot be had (the hub refuses it or has another size, its bytes do not hash to
  // its name, the hub stays unreachable), or when `stop` is set.
  std::vector<std::filesystem::path> fetch(const std::vector<ShardRef>& shards, const std::atomic<bool>* stop = nullptr);

 private:
  std::filesystem::path fetch_one(const ShardRef& shard, ShardProgress& progress, const std::atomic<bool>* stop);
  // One download into `part` from its current size.
  void download(const ShardRef& shard, const std::filesystem::path& part, ShardProgress& progress,
                const std::atomic<bool>* stop);
  void report(const ShardProgress& progress, bool force);

  HubClient& hub_;
  std::filesystem::path cache_;
  Progress progress_;
  std::chrono::steady_clock::time_point last_report_{};
};

}  // namespace tessera::client
