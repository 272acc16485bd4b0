// The chain walk, the signed heads and the roll-up comparison behind LedgerReader::verify.
#include "core/ledger/verify.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "core/ledger/chain.h"
#include "core/ledger/row_values.h"
#include "core/wallet/encoding.h"

namespace tessera::ledger {

std::string VerifyReport::to_text() const {
  if (intact)
    return "intact: " + std::to_string(rows) + " rows in " + std::to_string(transactions) +
           " signed transactions; signatures checked against " + key_source;
  if (problem && problem->seq == 0)  // not a row of the chain: the roll-ups
    return "NOT INTACT: " + problem->detail + "; signatures checked against " + key_source;
  std::string text = "NOT INTACT: first bad row: seq " + std::to_string(problem ? problem->seq : 0);
  if (problem && !problem->table.empty()) text += " (table " + problem->table + ")";
  if (problem) text += ": " + problem->kind + ": " + problem->detail;
  text += "\nrows before it are intact; signatures checked against " + key_source;
  return text;
}

namespace detail {
namespace {

Hash to_hash(std::span<const std::uint8_t> bytes) {
  Hash hash{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), hash.size()), hash.begin());
  return hash;
}

std::string short_key(const wallet::PublicKey& key) { return wallet::to_hex(key); }

// One transaction's signed head, as stored in the heads table.
struct Head {
  std::int64_t txn, last_seq;
  Hash head_hash;
  wallet::PublicKey key;
  wallet::Signature signature;
};

// One row of the chain as stored: its place, the hashes it carries and its values.
struct ChainRow {
  const TableInfo* info = nullptr;
  std::string table;
  std::int64_t seq = 0;
  Hash stored_previous{}, stored_hash{};
  std::vector<Value> values;
  bool type_mismatch = false;
};

// The rows of every table merged into one sequence by seq: one cursor per table.
class ChainRows {
 public:
  explicit ChainRows(Connection& connection) {
    for (const auto& info : all_tables()) {
      cursors_.push_back({&info, connection.prepare("SELECT seq, prev_hash, hash" + column_list(info) + " FROM " +
                                                    std::string(info.name) + " ORDER BY seq")});
      cursors_.back().has_row = cursors_.back().query.step();
    }
  }

  // The row with the lowest seq not yet returned, if any.
  std::optional<ChainRow> next() {
    Cursor* lowest = nullptr;
    for (auto& cursor : cursors_)
      if (cursor.has_row && (lowest == nullptr || cursor.query.column_int(0) < lowest->query.column_int(0)))
        lowest = &cursor;
    if (lowest == nullptr) return std::nullopt;
    ChainRow row;
    row.info = lowest->info;
    row.table = std::string(lowest->info->name);
    row.seq = lowest->query.column_int(0);
    row.stored_previous = to_hash(lowest->query.column_blob(1));
    row.stored_hash = to_hash(lowest->query.column_blob(2));
    row.values = read_values(lowest->query, *lowest->info, 3, &row.type_mismatch);
    lowest->has_row = lowest->query.step();
    return row;
  }

 private:
  struct Cursor {
    const TableInfo* info;
    Statement query;
    bool has_row = false;
  };
  std::vector<Cursor> cursors_;
};

// Walks the chain once, row by row, and stops at the first problem: each check names the most
// precise cause it can see from where the walk is.
class ChainVerifier {
 public:
  ChainVerifier(Connection& connection, const std::optional<wallet::PublicKey>& expected_key)
      : connection_(connection), expected_key_(expected_key) {}

  VerifyReport run() {
    read_heads();
    report_.transactions = static_cast<std::int64_t>(heads_.size());
    report_.key_source = key_source();
    ChainRows rows(connection_);
    while (auto row = rows.next()) {
      if (auto problem = check_row(*row)) return fail(std::move(*problem));
      advance(*row);
    }
    if (auto problem = check_end()) return fail(std::move(*problem));
    report_.intact = true;
    return report_;
  }

 private:
  void read_heads() {
    auto query = connection_.prepare("SELECT txn, last_seq, head_hash, public_key, signature FROM heads ORDER BY txn");
    std::set<wallet::PublicKey> keys;
    while (query.step()) {
      Head head{query.column_int(0), query.column_int(1), to_hash(query.column_blob(2)), {}, {}};
      const auto key = query.column_blob(3);
      const auto signature = query.column_blob(4);
      std::copy_n(key.begin(), std::min(key.size(), head.key.size()), head.key.begin());
      std::copy_n(signature.begin(), std::min(signature.size(), head.signature.size()), head.signature.begin());
      if (keys.insert(head.key).second) report_.signer_keys.push_back(head.key);
      heads_.push_back(head);
    }
  }

  std::string key_source() const {
    if (expected_key_) return "the expected node key " + short_key(*expected_key_);
    if (report_.signer_keys.size() == 1)
      return "the key recorded in the file (" + short_key(report_.signer_keys.front()) +
             "; pass --public-key to check it is your node key)";
    return "the " + std::to_string(report_.signer_keys.size()) +
           " keys recorded in the file (pass --public-key to check them against your node key)";
  }

  VerifyReport fail(VerifyProblem problem) {
    report_.intact = false;
    report_.problem = std::move(problem);
    return report_;
  }

  std::optional<VerifyProblem> check_row(const ChainRow& row) {
    if (auto problem = check_position(row)) return problem;
    if (auto problem = check_hash(row)) return problem;
    if (auto problem = check_link(row)) return problem;
    if (auto problem = check_head(row)) return problem;
    note_unsigned(row);
    if (deferred_ && row.seq >= deferred_until_) return deferred_;
    return std::nullopt;
  }

  // The seq must follow the previous row's: a repeat is an inserted row, a gap deleted rows.
  std::optional<VerifyProblem> check_position(const ChainRow& row) const {
    if (row.seq == previous_seq_)
      return VerifyProblem{row.seq, row.table, "inserted",
                           "tables " + previous_table_ + " and " + row.table + " both hold a row at seq " +
                               std::to_string(row.seq) + ": one of them was added by hand"};
    if (row.seq != expected_seq_)
      return VerifyProblem{expected_seq_, "", "deleted",
                           "row seq " + std::to_string(expected_seq_) +
                               (row.seq - expected_seq_ > 1
                                    ? " (and the rows up to seq " + std::to_string(row.seq - 1) + ")"
                                    : std::string()) +
                               " is missing: it was deleted"};
    return std::nullopt;
  }

  // The row's values, with the link it stores, must still hash to the hash it stores.
  std::optional<VerifyProblem> check_hash(const ChainRow& row) {
    canonical_.clear();
    append_canonical(row.info->table, row.values, canonical_);
    if (chain_hash(row.stored_previous, canonical_) != row.stored_hash || row.type_mismatch)
      return VerifyProblem{row.seq, row.table, "edited",
                           "its values no longer match its hash: a value in this row was changed"};
    return std::nullopt;
  }

  // The row must link to the previous row's hash; where it links instead tells what happened.
  std::optional<VerifyProblem> check_link(const ChainRow& row) {
    if (row.stored_previous == previous_) return std::nullopt;
    if (row.seq >= 2 && row.stored_previous == before_previous_)
      return VerifyProblem{row.seq - 1, previous_table_, "inserted",
                           "the next row (seq " + std::to_string(row.seq) +
                               ") links past it: it was inserted into the chain"};
    if (const auto linked = find_hash(row.stored_previous); linked && linked->second > row.seq)
      return VerifyProblem{row.seq, row.table, "reordered",
                           "it links to row seq " + std::to_string(linked->second) + " (table " + linked->first +
                               "), which now comes after it: rows were reordered"};
    return VerifyProblem{row.seq - 1, previous_table_, "edited",
                         "the next row (seq " + std::to_string(row.seq) +
                             ") links to a row that is no longer in the log: this row was replaced or edited with "
                             "its hash recomputed, or a row after it was deleted and later rows renumbered"};
  }

  // The row that ends the next signed transaction is checked against its head; a head that
  // names a row the walk has already passed is out of order.
  std::optional<VerifyProblem> check_head(const ChainRow& row) {
    if (head_index_ >= heads_.size()) return std::nullopt;
    const Head& head = heads_[head_index_];
    if (head.last_seq == row.seq) return check_signed_row(row);
    if (head.last_seq < row.seq)
      return VerifyProblem{head.last_seq, "", "bad signature",
                           "transaction " + std::to_string(head.txn) + "'s head points at seq " +
                               std::to_string(head.last_seq) + ", out of order: the heads table was edited"};
    return std::nullopt;
  }

  // The last row of a transaction: its head must be there, name this row's hash and carry a
  // valid signature by the expected key.
  std::optional<VerifyProblem> check_signed_row(const ChainRow& row) {
    const std::int64_t first_of_txn = head_index_ == 0 ? 1 : heads_[head_index_ - 1].last_seq + 1;
    const std::size_t position = head_index_++;
    const auto& head = heads_[position];
    const std::string txn = "transaction " + std::to_string(head.txn);
    if (head.txn != static_cast<std::int64_t>(position) + 1)
      return VerifyProblem{first_of_txn, "", "deleted",
                           "the signed head of transaction " + std::to_string(position + 1) +
                               " is missing: it was deleted from the heads table"};
    if (head.head_hash != row.stored_hash) return check_moved_head(head, first_of_txn, row.seq);
    if (expected_key_ && head.key != *expected_key_)
      return VerifyProblem{first_of_txn, "", "bad signature",
                           txn + " was signed by key " + short_key(head.key) + ", not by the expected node key"};
    if (!wallet::verify(wallet::SignatureDomain::LedgerHead, head_message(head.txn, head.last_seq, head.head_hash),
                        head.signature, head.key))
      return VerifyProblem{first_of_txn, "", "bad signature",
                           "the signature over " + txn + "'s head (seq " + std::to_string(row.seq) +
                               ") is invalid: the head was forged or edited"};
    return std::nullopt;
  }

  // The head names a hash this row does not have. The signed row may only have moved (rows
  // inserted before it): then the chain links up to it name the inserted row precisely, and this
  // is reported (deferred) only if they do not.
  std::optional<VerifyProblem> check_moved_head(const Head& head, std::int64_t first_of_txn, std::int64_t seq) {
    if (deferred_) return deferred_;
    const std::string txn = "transaction " + std::to_string(head.txn);
    const auto moved = find_hash(head.head_hash);
    if (!moved || moved->second <= seq)
      return VerifyProblem{first_of_txn, "", "edited",
                           "the rows of " + txn + " (seq " + std::to_string(first_of_txn) + " to " +
                               std::to_string(seq) +
                               ") no longer hash to the head it signed: one of them was changed and the chain "
                               "rewritten"};
    deferred_ = VerifyProblem{first_of_txn, "", "inserted",
                              "the row " + txn + " signed at seq " + std::to_string(seq) + " is now at seq " +
                                  std::to_string(moved->second) + ": rows were inserted before it"};
    deferred_until_ = moved->second;
    return std::nullopt;
  }

  // Rows after the last signed head are covered by no signature: remember the first.
  void note_unsigned(const ChainRow& row) {
    if (head_index_ < heads_.size() || first_unsigned_seq_ != 0) return;
    if (heads_.empty() || row.seq > heads_.back().last_seq) {
      first_unsigned_seq_ = row.seq;
      first_unsigned_table_ = row.table;
    }
  }

  void advance(const ChainRow& row) {
    before_previous_ = previous_;
    previous_ = row.stored_hash;
    previous_seq_ = row.seq;
    previous_table_ = row.table;
    expected_seq_ = row.seq + 1;
    ++report_.rows;
  }

  // After the last row: a moved head never explained, heads whose rows are gone, unsigned rows.
  std::optional<VerifyProblem> check_end() const {
    if (deferred_) return deferred_;
    if (head_index_ < heads_.size())
      return VerifyProblem{expected_seq_, "", "deleted",
                           "rows from seq " + std::to_string(expected_seq_) + " to " +
                               std::to_string(heads_.back().last_seq) + " are missing: transaction " +
                               std::to_string(heads_[head_index_].txn) + " signed them but they were deleted"};
    if (first_unsigned_seq_ != 0)
      return VerifyProblem{first_unsigned_seq_, first_unsigned_table_, "inserted",
                           "no signed transaction covers it: it was added by hand"};
    return std::nullopt;
  }

  // Which table holds a row with this hash, and at which seq.
  std::optional<std::pair<std::string, std::int64_t>> find_hash(const Hash& hash) {
    for (const auto& info : all_tables()) {
      auto query = connection_.prepare("SELECT seq FROM " + std::string(info.name) + " WHERE hash = ?");
      query.bind_blob(1, hash);
      if (query.step()) return std::make_pair(std::string(info.name), query.column_int(0));
    }
    return std::nullopt;
  }

  Connection& connection_;
  const std::optional<wallet::PublicKey> expected_key_;
  VerifyReport report_;
  std::vector<Head> heads_;
  std::size_t head_index_ = 0;  // the next head to be reached by the walk
  // Where the walk is: the next seq it expects, the last row's seq, table and hash, the hash before.
  std::int64_t expected_seq_ = 1;
  std::int64_t previous_seq_ = 0;
  std::string previous_table_;
  Hash previous_{}, before_previous_{};
  std::int64_t first_unsigned_seq_ = 0;
  std::string first_unsigned_table_;
  // A signed row found further on: reported once the walk reaches it without naming a cause.
  std::optional<VerifyProblem> deferred_;
  std::int64_t deferred_until_ = 0;
  std::vector<std::uint8_t> canonical_;  // reused for every row
};

bool same(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}); }

bool same(const Donated& a, const Donated& b) {
  return same(a.device_seconds, b.device_seconds) && same(a.flops, b.flops) && a.tokens == b.tokens &&
         same(a.energy_joules, b.energy_joules) && a.steps == b.steps;
}

}  // namespace

VerifyReport verify_chain(Connection& connection, const std::optional<wallet::PublicKey>& expected_key) {
  return ChainVerifier(connection, expected_key).run();
}

std::optional<std::string> rollup_mismatch(const Summary& rollup, const Summary& raw) {
  const std::pair<const Donated*, const Donated*> windows[] = {
      {&rollup.donated.last_24h, &raw.donated.last_24h}, {&rollup.donated.last_7d, &raw.donated.last_7d},
      {&rollup.donated.last_30d, &raw.donated.last_30d}, {&rollup.donated.all_time, &raw.donated.all_time}};
  for (const auto& [from_rollup, from_raw] : windows)
    if (!same(*from_rollup, *from_raw)) return "compute donated";
  if (rollup.ownership.size() != raw.ownership.size()) return "ownership";
  for (std::size_t i = 0; i < raw.ownership.size(); ++i) {
    const auto &a = rollup.ownership[i], &b = raw.ownership[i];
    if (a.run != b.run || a.epoch != b.epoch || !same(a.units, b.units) || !same(a.run_units, b.run_units) ||
        a.verified != b.verified || a.epoch_rejected != b.epoch_rejected ||
        a.epoch_checks_passed != b.epoch_checks_passed || a.epoch_checks_failed != b.epoch_checks_failed ||
        a.data_units != b.data_units)
      return "ownership";
  }
  if (rollup.revenue.size() != raw.revenue.size()) return "revenue";
  for (std::size_t i = 0; i < raw.revenue.size(); ++i) {
    const auto &a = rollup.revenue[i], &b = raw.revenue[i];
    if (a.run != b.run || a.epoch != b.epoch || a.accrued != b.accrued || a.verified != b.verified) return "revenue";
  }
  return std::nullopt;
}

}  // namespace detail
}  // namespace tessera::ledger
