// Weights digests in the store and the replicas' majority.
#include "core/hub/weight_reports.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace tessera::hub {
namespace {

template <std::size_t N>
std::array<std::uint8_t, N> fixed(const Query& query, int column) {
  std::array<std::uint8_t, N> out{};
  const auto blob = query.column_blob(column);
  if (blob.size() == N) std::memcpy(out.data(), blob.data(), N);
  return out;
}

}  // namespace

std::vector<wallet::PublicKey> WeightReports::record(HubStore::Transaction& transaction, const WeightsReport& report,
                                                     std::size_t replicas) {
  auto& db = transaction.db();
  auto insert = db.prepare(
      "INSERT OR IGNORE INTO weight_digests (step, stage, node_key, digest) VALUES (?, ?, ?, ?)");
  insert.bind(1, to_sql(report.step));
  insert.bind(2, static_cast<std::int64_t>(report.stage));
  insert.bind_blob(3, report.node);
  insert.bind_blob(4, report.digest);
  insert.run();

  auto query = db.prepare("SELECT node_key, digest FROM weight_digests WHERE step = ? AND stage = ?");
  query.bind(1, to_sql(report.step));
  query.bind(2, static_cast<std::int64_t>(report.stage));
  std::map<protocol::PayloadDigest, std::vector<wallet::PublicKey>> by_digest;
  std::size_t reports = 0;
  while (query.step()) {
    by_digest[fixed<32>(query, 1)].push_back(fixed<32>(query, 0));
    ++reports;
  }
  const std::size_t total = std::max(reports, replicas);
  const auto majority = std::find_if(by_digest.begin(), by_digest.end(),
                                     [total](const auto& entry) { return entry.second.size() * 2 > total; });
  std::vector<wallet::PublicKey> minority;
  if (majority == by_digest.end()) return minority;
  for (const auto& [digest, nodes] : by_digest)
    if (digest != majority->first) minority.insert(minority.end(), nodes.begin(), nodes.end());
  return minority;
}

std::optional<protocol::PayloadDigest> WeightReports::digest_of(Database& db, const wallet::PublicKey& node,
                                                                std::uint64_t step) {
  auto query = db.prepare("SELECT digest FROM weight_digests WHERE step = ? AND node_key = ?");
  query.bind(1, to_sql(step));
  query.bind_blob(2, node);
  if (!query.step()) return std::nullopt;
  return fixed<32>(query, 0);
}

void WeightReports::forget_before(HubStore::Transaction& transaction, std::uint64_t step) {
  auto erase = transaction.db().prepare("DELETE FROM weight_digests WHERE step < ?");
  erase.bind(1, to_sql(step));
  erase.run();
}

}  // namespace tessera::hub
