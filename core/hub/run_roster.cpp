// Admitted nodes in the store, live ones and the ready order in memory (see run_roster.h).
#include "core/hub/run_roster.h"

#include <algorithm>
#include <chrono>

#include "core/hub/hub_store.h"

namespace tessera::hub {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RunRoster::RunRoster(HubStore& store, std::size_t max_cached)
    : store_(store), max_cached_(std::max<std::size_t>(max_cached, 1)) {}

void RunRoster::admit(const wallet::PublicKey& node, int stage, const std::string& owner) {
  {
    auto transaction = store_.begin();
    auto upsert = transaction.db().prepare(
        "INSERT INTO members (node_key, stage, owner, admitted_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (node_key) DO UPDATE SET stage = excluded.stage, owner = excluded.owner, "
        "admitted_ms = excluded.admitted_ms");
    upsert.bind_blob(1, node);
    upsert.bind(2, static_cast<std::int64_t>(stage));
    upsert.bind(3, owner);
    upsert.bind(4, now_ms());
    upsert.run();
    transaction.commit();
  }
  std::lock_guard lock(mutex_);
  cache_locked(node, {stage, owner});
}

void RunRoster::cache_locked(const wallet::PublicKey& node, Member member) {
  if (live_.size() >= max_cached_ && !live_.count(node)) {
    // Over the bound (more live nodes than the directory admits): forget one that is not ready;
    // it stays a member in the store.
    for (auto it = live_.begin(); it != live_.end(); ++it)
      if (!ready_.count(it->first)) {
        live_.erase(it);
        break;
      }
  }
  live_[node] = std::move(member);
}

void RunRoster::mark_ready(const wallet::PublicKey& node) {
  std::lock_guard lock(mutex_);
  if (!ready_.count(node)) ready_[node] = next_ready_++;
}

void RunRoster::unready(const wallet::PublicKey& node) {
  std::lock_guard lock(mutex_);
  ready_.erase(node);
  live_.erase(node);
}

std::map<wallet::PublicKey, std::uint64_t> RunRoster::ready_orders() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

std::optional<Member> RunRoster::member(const wallet::PublicKey& node) const {
  {
    std::lock_guard lock(mutex_);
    const auto found = live_.find(node);
    if (found != live_.end()) return found->second;
  }
  return store_.read([&](Database& db) -> std::optional<Member> {
    auto query = db.prepare("SELECT stage, owner FROM members WHERE node_key = ?");
    query.bind_blob(1, node);
    if (!query.step()) return std::nullopt;
    return Member{static_cast<int>(query.column_int(0)), query.column_text(1)};
  });
}

std::optional<int> RunRoster::stage_of(const wallet::PublicKey& node) const {
  const auto found = member(node);
  return found ? std::optional<int>(found->stage) : std::nullopt;
}

std::optional<std::string> RunRoster::owner_of(const wallet::PublicKey& node) const {
  auto found = member(node);
  return found ? std::optional<std::string>(std::move(found->owner)) : std::nullopt;
}

std::size_t RunRoster::cached() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

}  // namespace tessera::hub
