// Shard files: pending proposals per run, accepted shards by hash.
#include "core/hub/shard_store.h"

#include <algorithm>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>

#include "core/sys/durable_file.h"

namespace tessera::hub {
namespace {

namespace fs = std::filesystem;

bool valid_run_name(const std::string& run) {
  if (run.empty() || run.size() > 64 || run == "." || run == "..") return false;
  return std::all_of(run.begin(), run.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

void require_hash(const std::string& hash) {
  if (!protocol::valid_shard_hash(hash)) throw std::invalid_argument("a shard hash is 64 lowercase hex digits");
}

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

const sys::DurableWriteOptions kDataFile{sys::TempFile::SharedFixed, sys::IfExists::Replace, {}};

}  // namespace

ShardStore::ShardStore(fs::path root) : root_(std::move(root)) {}

fs::path ShardStore::run_folder(const std::string& run) const {
  if (!valid_run_name(run)) throw std::invalid_argument("\"" + run.substr(0, 64) + "\" is not a run id");
  return root_ / "pending" / run;
}

std::vector<protocol::PendingShard> ShardStore::read_pending(const fs::path& folder) const {
  std::vector<protocol::PendingShard> out;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return out;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    try {
      out.push_back(protocol::pending_shard_from_json(nlohmann::json::parse(text.str())));
    } catch (const std::exception&) {
      continue;  // a record cut short by a crash: its proposal is not listed (and may be proposed again)
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.proposed_ms != b.proposed_ms ? a.proposed_ms < b.proposed_ms : a.hash < b.hash;
  });
  return out;
}

ProposalResult ShardStore::propose(const protocol::PendingShard& shard, std::string_view bytes) {
  require_hash(shard.hash);
  const auto folder = run_folder(shard.run);
  std::lock_guard lock(mutex_);
  std::error_code error;
  if (fs::exists(root_ / shard.hash, error)) return {ProposalOutcome::AlreadyAccepted, shard};
  const auto waiting = read_pending(folder);
  for (const auto& other : waiting)
    if (other.hash == shard.hash) return {ProposalOutcome::AlreadyPending, other};
  if (waiting.size() >= kMaxPendingPerRun) return {ProposalOutcome::RunFull, shard};
  const auto mine = std::count_if(waiting.begin(), waiting.end(),
                                  [&](const auto& other) { return other.contributor == shard.contributor; });
  if (static_cast<std::size_t>(mine) >= kMaxPendingPerOwner) return {ProposalOutcome::OwnerFull, shard};
  fs::create_directories(folder);
  sys::write_file_durably(folder / shard.hash, as_bytes(bytes), kDataFile);
  // The record last: a proposal is listed only once its bytes are whole.
  sys::write_file_durably(folder / (shard.hash + ".json"), as_bytes(protocol::to_json(shard).dump()), kDataFile);
  return {ProposalOutcome::Stored, shard};
}

std::vector<protocol::PendingShard> ShardStore::pending(const std::string& run) const {
  std::lock_guard lock(mutex_);
  if (!run.empty()) return read_pending(run_folder(run));
  std::vector<protocol::PendingShard> out;
  std::error_code error;
  if (!fs::is_directory(root_ / "pending", error)) return out;
  for (const auto& entry : fs::directory_iterator(root_ / "pending", error)) {
    if (!entry.is_directory() || !valid_run_name(entry.path().filename().string())) continue;
    const auto some = read_pending(entry.path());
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

protocol::PendingShard ShardStore::take(const std::string& run, const std::string& hash) {
  require_hash(hash);
  const auto folder = run_folder(run);
  for (const auto& shard : read_pending(folder))
    if (shard.hash == hash) {
      fs::remove(folder / (hash + ".json"));
      return shard;
    }
  throw std::out_of_range("run " + run + " has no shard " + hash + " waiting for review");
}

protocol::PendingShard ShardStore::reject(const std::string& run, const std::string& hash) {
  std::lock_guard lock(mutex_);
  auto shard = take(run, hash);
  std::error_code ignored;
  fs::remove(run_folder(run) / hash, ignored);
  return shard;
}

protocol::PendingShard ShardStore::accept(const std::string& run, const std::string& hash) {
  std::lock_guard lock(mutex_);
  auto shard = take(run, hash);
  const auto file = run_folder(run) / hash;
  std::error_code error;
  if (fs::exists(root_ / hash, error)) {
    fs::remove(file, error);  // accepted before, in another run: the same bytes
  } else {
    fs::rename(file, root_ / hash);  // same file system: one folder holds both
  }
  return shard;
}

std::string ShardStore::add(const fs::path& file) {
  const auto hash = protocol::shard_file_hash(file);
  std::lock_guard lock(mutex_);
  fs::create_directories(root_);
  std::error_code error;
  if (!fs::exists(root_ / hash, error)) {
    const auto temporary = root_ / (hash + ".tmp");
    fs::copy_file(file, temporary, fs::copy_options::overwrite_existing);
    if (protocol::shard_file_hash(temporary) != hash) {
      fs::remove(temporary, error);
      throw std::runtime_error(file.string() + " changed while it was copied");
    }
    fs::rename(temporary, root_ / hash);
  }
  return hash;
}

std::optional<fs::path> ShardStore::accepted(const std::string& hash) const {
  if (!protocol::valid_shard_hash(hash)) return std::nullopt;
  std::error_code error;
  const auto file = root_ / hash;
  if (!fs::is_regular_file(file, error)) return std::nullopt;
  return file;
}

}  // namespace tessera::hub
