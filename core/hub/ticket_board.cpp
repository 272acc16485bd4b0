// Issued tickets by checker, in memory.
#include "core/hub/ticket_board.h"

#include <cstring>

#include "core/wallet/encoding.h"

namespace tessera::hub {

TicketBoard::TicketBoard(HubStore& store) {
  store.read([this](Database& db) {
    auto query = db.prepare("SELECT id, checker, ticket, expires_ms FROM checks WHERE state = 'issued' ORDER BY id");
    while (query.step()) {
      wallet::PublicKey checker{};
      const auto key = query.column_blob(1);
      if (key.size() != checker.size()) continue;
      std::memcpy(checker.data(), key.data(), checker.size());
      const auto ticket = query.column_blob(2);
      post(checker, from_sql(query.column_int(0)), wallet::to_hex(ticket), query.column_int(3));
    }
    return 0;
  });
}

void TicketBoard::post(const wallet::PublicKey& checker, std::uint64_t check_id, std::string ticket_hex,
                       std::int64_t expires_ms) {
  std::lock_guard lock(mutex_);
  if (!by_id_.emplace(check_id, Posted{checker, std::move(ticket_hex), expires_ms}).second) return;
  by_checker_.emplace(checker, check_id);
}

void TicketBoard::take(std::uint64_t check_id) {
  std::lock_guard lock(mutex_);
  const auto found = by_id_.find(check_id);
  if (found == by_id_.end()) return;
  const auto [first, last] = by_checker_.equal_range(found->second.checker);
  for (auto it = first; it != last; ++it)
    if (it->second == check_id) {
      by_checker_.erase(it);
      break;
    }
  by_id_.erase(found);
}

std::vector<std::string> TicketBoard::for_checker(const wallet::PublicKey& checker, std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  std::map<std::uint64_t, std::string> ordered;
  const auto [first, last] = by_checker_.equal_range(checker);
  for (auto it = first; it != last; ++it) {
    const auto& posted = by_id_.at(it->second);
    if (posted.expires_ms > now_ms) ordered.emplace(it->second, posted.ticket_hex);
  }
  std::vector<std::string> out;
  for (auto& [id, hex] : ordered) out.push_back(std::move(hex));
  return out;
}

}  // namespace tessera::hub
