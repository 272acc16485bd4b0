// API keys in the hub's store: create, list, credit, revoke; reserve, release and debit.
#include "core/hub/api_key_book.h"

#include <array>
#include <chrono>
#include <limits>

#include <sodium.h>
#include <sqlite3.h>

#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

constexpr const char* kColumns = "id, name, balance, reserved, spent, created_ms, revoked_ms";
constexpr const char* kKeyPrefix = "tsk_";

std::array<std::uint8_t, 32> key_hash(const std::string& key) {
  std::array<std::uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return hash;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

protocol::ApiKeyInfo row_info(const Query& row) {
  protocol::ApiKeyInfo info{row.column_int(0), row.column_text(1), row.column_int(2), row.column_int(3),
                            row.column_int(4), row.column_int(5), std::nullopt};
  if (!row.column_is_null(6)) info.revoked_ms = row.column_int(6);
  return info;
}

std::optional<protocol::ApiKeyInfo> find_by_id(Database& db, std::int64_t id) {
  auto query = db.prepare(std::string("SELECT ") + kColumns + " FROM api_keys WHERE id = ?");
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return row_info(query);
}

std::optional<protocol::ApiKeyInfo> find_by_key(Database& db, const std::string& key) {
  const auto hash = key_hash(key);
  auto query = db.prepare(std::string("SELECT ") + kColumns + " FROM api_keys WHERE key_hash = ?");
  query.bind_blob(1, hash);
  if (!query.step()) return std::nullopt;
  return row_info(query);
}

// The live key `key`, or KeyRefused.
protocol::ApiKeyInfo live_key(Database& db, const std::string& key) {
  const auto info = key.rfind(kKeyPrefix, 0) == 0 ? find_by_key(db, key) : std::nullopt;
  if (!info) throw KeyRefused(KeyRefused::Reason::Unknown, "this API key is not known to the gateway");
  if (info->revoked_ms) throw KeyRefused(KeyRefused::Reason::Revoked, "this API key was revoked by the gateway's operator");
  return *info;
}

protocol::ApiKeyInfo existing(Database& db, std::int64_t id) {
  const auto info = find_by_id(db, id);
  if (!info) throw std::out_of_range("no API key has id " + std::to_string(id));
  return *info;
}

}  // namespace

ApiKeyBook::ApiKeyBook(HubStore& store) : store_(store) {
  auto transaction = store_.begin();
  transaction.db().exec("UPDATE api_keys SET reserved = 0 WHERE reserved != 0");
  transaction.commit();
}

NewApiKey ApiKeyBook::add(const std::string& name, std::int64_t balance) {
  if (name.size() > protocol::hub_admin_api::kMaxNameBytes)
    throw std::invalid_argument("a key's name is at most " + std::to_string(protocol::hub_admin_api::kMaxNameBytes) +
                                " bytes");
  if (balance < 0) throw std::invalid_argument("a key's balance cannot be negative");
  std::array<std::uint8_t, 32> secret{};
  randombytes_buf(secret.data(), secret.size());
  NewApiKey created{kKeyPrefix + wallet::to_hex(secret), {}};
  sodium_memzero(secret.data(), secret.size());
  auto transaction = store_.begin();
  auto insert = transaction.db().prepare(
      "INSERT INTO api_keys (name, key_hash, balance, reserved, spent, created_ms) VALUES (?, ?, ?, 0, 0, ?)");
  insert.bind(1, name);
  insert.bind_blob(2, key_hash(created.key));
  insert.bind(3, balance);
  insert.bind(4, now_ms());
  insert.run();
  created.info = existing(transaction.db(), sqlite3_last_insert_rowid(transaction.db().handle()));
  transaction.commit();
  return created;
}

std::vector<protocol::ApiKeyInfo> ApiKeyBook::list() const {
  return store_.read([](Database& db) {
    std::vector<protocol::ApiKeyInfo> keys;
    auto query = db.prepare(std::string("SELECT ") + kColumns + " FROM api_keys ORDER BY id");
    while (query.step()) keys.push_back(row_info(query));
    return keys;
  });
}

protocol::ApiKeyInfo ApiKeyBook::credit(std::int64_t id, std::int64_t amount) {
  if (amount <= 0) throw std::invalid_argument("a credit must be a positive amount");
  auto transaction = store_.begin();
  const auto key = existing(transaction.db(), id);
  if (key.revoked_ms) throw std::invalid_argument("API key " + std::to_string(id) + " is revoked: it cannot be credited");
  if (key.balance > std::numeric_limits<std::int64_t>::max() - amount)
    throw std::invalid_argument("the balance would pass 2^63 - 1 micro-units");
  auto update = transaction.db().prepare("UPDATE api_keys SET balance = balance + ? WHERE id = ?");
  update.bind(1, amount);
  update.bind(2, id);
  update.run();
  const auto info = existing(transaction.db(), id);
  transaction.commit();
  return info;
}

protocol::ApiKeyInfo ApiKeyBook::revoke(std::int64_t id) {
  auto transaction = store_.begin();
  existing(transaction.db(), id);
  auto update = transaction.db().prepare("UPDATE api_keys SET revoked_ms = IFNULL(revoked_ms, ?) WHERE id = ?");
  update.bind(1, now_ms());
  update.bind(2, id);
  update.run();
  const auto info = existing(transaction.db(), id);
  transaction.commit();
  return info;
}

bool ApiKeyBook::has_live_keys() const {
  return store_.read([](Database& db) {
    auto query = db.prepare("SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_ms IS NULL)");
    query.step();
    return query.column_int(0) != 0;
  });
}

std::int64_t ApiKeyBook::check(const std::string& key) const {
  return store_.read([&](Database& db) { return live_key(db, key).id; });
}

std::int64_t ApiKeyBook::reserve(const std::string& key, std::int64_t amount) {
  auto transaction = store_.begin();
  const auto info = live_key(transaction.db(), key);
  if (amount < 0 || info.balance - info.reserved < amount)
    throw KeyRefused(KeyRefused::Reason::Insufficient,
                     "this API key's balance (" + std::to_string(info.balance - info.reserved) +
                         " micro-units free) is below the request's maximum cost (" + std::to_string(amount) +
                         " micro-units: prompt and max_tokens at the run's price); ask the operator for credit or "
                         "lower max_tokens");
  auto update = transaction.db().prepare("UPDATE api_keys SET reserved = reserved + ? WHERE id = ?");
  update.bind(1, amount);
  update.bind(2, info.id);
  update.run();
  transaction.commit();
  return info.id;
}

void ApiKeyBook::release(std::int64_t id, std::int64_t reserved) {
  auto transaction = store_.begin();
  auto update = transaction.db().prepare("UPDATE api_keys SET reserved = MAX(reserved - ?, 0) WHERE id = ?");
  update.bind(1, reserved);
  update.bind(2, id);
  update.run();
  transaction.commit();
}

void ApiKeyBook::debit(HubStore::Transaction& transaction, std::int64_t id, std::int64_t reserved,
                       std::uint64_t tokens, std::int64_t amount, std::uint64_t epoch) {
  if (amount < 0 || amount > reserved) throw std::logic_error("a debit must lie within its reservation");
  auto& db = transaction.db();
  auto update = db.prepare(
      "UPDATE api_keys SET balance = balance - ?1, spent = spent + ?1, reserved = MAX(reserved - ?2, 0) WHERE id = ?3");
  update.bind(1, amount);
  update.bind(2, reserved);
  update.bind(3, id);
  update.run();
  auto insert = db.prepare("INSERT INTO debits (key_id, epoch, tokens, amount, at_ms) VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, id);
  insert.bind(2, to_sql(epoch));
  insert.bind(3, to_sql(tokens));
  insert.bind(4, amount);
  insert.bind(5, now_ms());
  insert.run();
}

std::pair<std::int64_t, std::int64_t> ApiKeyBook::debits(std::uint64_t epoch) const {
  return store_.read([&](Database& db) {
    auto query = db.prepare("SELECT IFNULL(SUM(amount), 0), COUNT(*) FROM debits WHERE epoch = ?");
    query.bind(1, to_sql(epoch));
    query.step();
    return std::pair{query.column_int(0), query.column_int(1)};
  });
}

}  // namespace tessera::hub
