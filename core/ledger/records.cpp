// Column descriptors of the ledger tables and the record ↔ value-row conversions.
#include "core/ledger/records.h"

#include <array>
#include <stdexcept>

namespace tessera::ledger {
namespace {

using CT = ColumnType;

constexpr std::array<Column, 6> kSessionColumns{{{"at_ms", CT::Integer},
                                                  {"session_id", CT::Text},
                                                  {"kind", CT::Text},
                                                  {"run", CT::Text},
                                                  {"device", CT::Text},
                                                  {"power_profile", CT::Text}}};
constexpr std::array<Column, 14> kWorkColumns{{{"at_ms", CT::Integer},
                                               {"session_id", CT::Text},
                                               {"run", CT::Text},
                                               {"step", CT::Integer},
                                               {"stage", CT::Integer},
                                               {"micro_batches", CT::Integer},
                                               {"tokens", CT::Integer},
                                               {"flops", CT::Real},
                                               {"device_seconds", CT::Real},
                                               {"energy_joules", CT::Real},
                                               {"codec", CT::Text},
                                               {"bytes_sent", CT::Integer},
                                               {"bytes_received", CT::Integer},
                                               {"receipt_ids", CT::Text}}};
constexpr std::array<Column, 11> kReceiptColumns{{{"at_ms", CT::Integer},
                                                  {"receipt_id", CT::Text},
                                                  {"run", CT::Text},
                                                  {"step", CT::Integer},
                                                  {"micro_batch", CT::Integer},
                                                  {"stage", CT::Integer},
                                                  {"sender", CT::Text},
                                                  {"receiver", CT::Text},
                                                  {"tokens", CT::Integer},
                                                  {"payload_hash", CT::Blob},
                                                  {"raw", CT::Blob}}};
constexpr std::array<Column, 12> kStatementColumns{{{"at_ms", CT::Integer},
                                                    {"run", CT::Text},
                                                    {"epoch", CT::Integer},
                                                    {"owner", CT::Text},
                                                    {"units", CT::Real},
                                                    {"run_units", CT::Real},
                                                    {"cumulative_revenue", CT::Integer},
                                                    {"currency", CT::Text},
                                                    {"merkle_root", CT::Blob},
                                                    {"proof", CT::Blob},
                                                    {"hub_signature", CT::Blob},
                                                    {"verified", CT::Integer}}};
constexpr std::array<Column, 6> kRevenueColumns{{{"at_ms", CT::Integer},
                                                 {"run", CT::Text},
                                                 {"epoch", CT::Integer},
                                                 {"amount", CT::Integer},
                                                 {"currency", CT::Text},
                                                 {"source", CT::Text}}};
constexpr std::array<Column, 7> kPayoutColumns{{{"at_ms", CT::Integer},
                                                {"run", CT::Text},
                                                {"amount", CT::Integer},
                                                {"currency", CT::Text},
                                                {"destination", CT::Text},
                                                {"transaction_id", CT::Text},
                                                {"status", CT::Text}}};
constexpr std::array<Column, 5> kEventColumns{{{"at_ms", CT::Integer},
                                               {"kind", CT::Text},
                                               {"run", CT::Text},
                                               {"message", CT::Text},
                                               {"details", CT::Text}}};

// Schema version 3 created the key tables from these lists; a change needs a new migration.
constexpr std::array<std::string_view, 4> kStatementKey{"run", "epoch", "owner", "verified"};
constexpr std::array<std::string_view, 3> kRevenueKey{"run", "epoch", "source"};

const std::array<TableInfo, kTableCount> kTables{{
    {Table::Sessions, "sessions", kSessionColumns, {}},
    {Table::Work, "work", kWorkColumns, {}},
    {Table::Receipts, "receipts", kReceiptColumns, {}},
    {Table::Statements, "statements", kStatementColumns, kStatementKey},
    {Table::Revenue, "revenue", kRevenueColumns, kRevenueKey},
    {Table::Payouts, "payouts", kPayoutColumns, {}},
    {Table::Events, "events", kEventColumns, {}},
}};

using Bytes = std::vector<std::uint8_t>;

// Typed access to a value row, with a clear error when a row does not fit its table.
struct Reader {
  const std::vector<Value>& values;
  std::size_t next = 0;
  template <typename T>
  T take() {
    if (next >= values.size()) throw std::invalid_argument("ledger row has too few values");
    const auto* value = std::get_if<T>(&values[next++]);
    if (value == nullptr) throw std::invalid_argument("ledger row value has the wrong type");
    return *value;
  }
  std::int64_t i() { return take<std::int64_t>(); }
  double r() { return take<double>(); }
  std::string t() { return take<std::string>(); }
  Bytes b() { return take<Bytes>(); }
};

}  // namespace

const TableInfo& table_info(Table table) { return kTables.at(static_cast<std::size_t>(table)); }

std::span<const TableInfo> all_tables() { return kTables; }

Table table_from_name(std::string_view name) {
  std::string names;
  for (const auto& info : kTables) {
    if (info.name == name) return info.table;
    names += (names.empty() ? "" : ", ") + std::string(info.name);
  }
  throw std::invalid_argument("unknown ledger table '" + std::string(name) + "' (tables: " + names + ")");
}

std::vector<Value> to_values(const Record& record) {
  struct Sink {
    std::vector<Value> values;
    void integer(std::int64_t value) { values.emplace_back(value); }
    void real(double value) { values.emplace_back(value); }
    void text(std::string_view value) { values.emplace_back(std::string(value)); }
    void blob(std::span<const std::uint8_t> value) { values.emplace_back(Bytes(value.begin(), value.end())); }
  } sink;
  for_each_field(record, sink);
  return std::move(sink.values);
}

Record from_values(Table table, const std::vector<Value>& values) {
  Reader in{values};
  switch (table) {
    case Table::Sessions: {
      SessionRecord r;
      r.at_ms = in.i(), r.session_id = in.t(), r.kind = in.t(), r.run = in.t(), r.device = in.t();
      r.power_profile = in.t();
      return r;
    }
    case Table::Work: {
      WorkRecord r;
      r.at_ms = in.i(), r.session_id = in.t(), r.run = in.t(), r.step = in.i(), r.stage = in.i();
      r.micro_batches = in.i(), r.tokens = in.i(), r.flops = in.r(), r.device_seconds = in.r();
      r.energy_joules = in.r(), r.codec = in.t(), r.bytes_sent = in.i(), r.bytes_received = in.i();
      r.receipt_ids = in.t();
      return r;
    }
    case Table::Receipts: {
      ReceiptRecord r;
      r.at_ms = in.i(), r.receipt_id = in.t(), r.run = in.t(), r.step = in.i(), r.micro_batch = in.i();
      r.stage = in.i(), r.sender = in.t(), r.receiver = in.t(), r.tokens = in.i(), r.payload_hash = in.b();
      r.raw = in.b();
      return r;
    }
    case Table::Statements: {
      StatementRecord r;
      r.at_ms = in.i(), r.run = in.t(), r.epoch = in.i(), r.owner = in.t(), r.units = in.r();
      r.run_units = in.r(), r.cumulative_revenue = in.i(), r.currency = in.t(), r.merkle_root = in.b();
      r.proof = in.b(), r.hub_signature = in.b(), r.verified = in.i() != 0;
      return r;
    }
    case Table::Revenue: {
      RevenueRecord r;
      r.at_ms = in.i(), r.run = in.t(), r.epoch = in.i(), r.amount = in.i(), r.currency = in.t();
      r.source = in.t();
      return r;
    }
    case Table::Payouts: {
      PayoutRecord r;
      r.at_ms = in.i(), r.run = in.t(), r.amount = in.i(), r.currency = in.t(), r.destination = in.t();
      r.transaction_id = in.t(), r.status = in.t();
      return r;
    }
    case Table::Events: {
      EventRecord r;
      r.at_ms = in.i(), r.kind = in.t(), r.run = in.t(), r.message = in.t(), r.details = in.t();
      return r;
    }
  }
  throw std::invalid_argument("unknown ledger table");
}

}  // namespace tessera::ledger
