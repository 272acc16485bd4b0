// Shard downloads into the node's cache: .part files resumed with Range, BLAKE2b-256 checked.
#include "core/client/shard_fetcher.h"

#include <fstream>
#include <stdexcept>

#include "core/client/hub_client.h"
#include "core/protocol/data_shard.h"

namespace tessera::client {
namespace {

namespace fs = std::filesystem;

std::uint64_t size_or_zero(const fs::path& file) {
  std::error_code error;
  const auto size = fs::file_size(file, error);
  return error ? 0 : size;
}

std::string short_hash(const std::string& hash) { return hash.substr(0, 12); }

}  // namespace

ShardFetcher::ShardFetcher(HubClient& hub, fs::path cache, Progress progress)
    : hub_(hub), cache_(std::move(cache)), progress_(std::move(progress)) {}

void ShardFetcher::report(const ShardProgress& progress, bool force) {
  if (!progress_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_report_ < std::chrono::milliseconds(250)) return;
  last_report_ = now;
  progress_(progress);
}

std::vector<fs::path> ShardFetcher::fetch(const std::vector<ShardRef>& shards, const std::atomic<bool>* stop) {
  std::vector<fs::path> files;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (!protocol::valid_shard_hash(shards[i].hash))
      throw std::runtime_error("the manifest names a shard \"" + shards[i].hash.substr(0, 64) + "\" that is not a hash");
    ShardProgress progress{shards[i].hash, i, shards.size(), 0, shards[i].bytes, "downloading"};
    files.push_back(fetch_one(shards[i], progress, stop));
  }
  return files;
}

fs::path ShardFetcher::fetch_one(const ShardRef& shard, ShardProgress& progress, const std::atomic<bool>* stop) {
  const auto file = cache_ / shard.hash;
  std::error_code ignored;
  if (fs::is_regular_file(file, ignored) && size_or_zero(file) == shard.bytes &&
      protocol::shard_file_hash(file) == shard.hash) {
    progress.done = shard.bytes;
    progress.state = "cached";
    report(progress, true);
    return file;
  }
  fs::remove(file, ignored);  // not the shard it is named for
  fs::create_directories(cache_);
  const auto part = cache_ / (shard.hash + ".part");
  if (size_or_zero(part) > shard.bytes) fs::remove(part, ignored);
  for (int attempt = 1;; ++attempt) {
    try {
      download(shard, part, progress, stop);
      break;
    } catch (const HubUnreachable& error) {
      if (attempt >= kAttempts)
        throw std::runtime_error("shard " + short_hash(shard.hash) + " could not be downloaded after " +
                                 std::to_string(kAttempts) + " tries: " + error.what());
    }
  }
  const auto actual = protocol::shard_file_hash(part);
  if (actual != shard.hash) {
    fs::remove(part, ignored);
    throw std::runtime_error("shard " + shard.hash + " from the hub hashes to " + actual +
                             ": refused and deleted (the hub or the connection corrupted it)");
  }
  fs::rename(part, file);
  progress.done = shard.bytes;
  progress.state = "verified";
  report(progress, true);
  return file;
}

void ShardFetcher::download(const ShardRef& shard, const fs::path& part, ShardProgress& progress,
                            const std::atomic<bool>* stop) {
  const auto offset = size_or_zero(part);
  progress.done = offset;
  progress.state = "downloading";
  report(progress, true);
  if (offset == shard.bytes) return;  // whole already: only its hash is left to check
  std::ofstream out(part, std::ios::binary | std::ios::app);
  if (!out) throw std::runtime_error("cannot write " + part.string());
  bool stopped = false, too_long = false;
  const auto total = hub_.download_shard(shard.hash, offset, [&](const char* data, std::size_t size) {
    if (stop && stop->load()) return !(stopped = true);
    if (progress.done + size > shard.bytes) return !(too_long = true);
    out.write(data, static_cast<std::streamsize>(size));
    progress.done += size;
    report(progress, false);
    return static_cast<bool>(out);
  });
  out.close();
  if (stopped) throw std::runtime_error("stopped while downloading shard " + short_hash(shard.hash));
  if (!out) throw std::runtime_error("cannot write " + part.string() + " (is the disk full?)");
  std::error_code ignored;
  if (too_long || total != shard.bytes) {
    fs::remove(part, ignored);
    throw std::runtime_error("the hub's shard " + short_hash(shard.hash) + " has " + std::to_string(total) +
                             " bytes; the manifest says " + std::to_string(shard.bytes));
  }
}

}  // namespace tessera::client
