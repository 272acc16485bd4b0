// The rows of the contribution log (DESIGN.md "The contribution log"): one struct per append-only
// table, and the descriptor every part of the ledger (append, verify, export) reads the columns
// from, so the canonical bytes a row is hashed over are defined in exactly one place.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tessera::ledger {

// Roll-up bucket sizes.
inline constexpr std::int64_t kHourMs = 3'600'000;
inline constexpr std::int64_t kDayMs = 24 * kHourMs;

// Times are Unix milliseconds (UTC). A record whose at_ms is 0 is stamped when it is submitted.
struct SessionRecord {
  std::int64_t at_ms = 0;
  std::string session_id;
  std::string kind;  // "start" or "stop"
  std::string run;
  std::string device;         // e.g. "cuda:0 NVIDIA RTX 4090"
  std::string power_profile;  // "light", "balanced", "full"
};

// One training step's work on this node's stage.
struct WorkRecord {
  std::int64_t at_ms = 0;
  std::string session_id;
  std::string run;
  std::int64_t step = 0;
  std::int64_t stage = 0;
  std::int64_t micro_batches = 0;
  std::int64_t tokens = 0;
  double flops = 0;           // work units (protocol/work_units.h)
  double device_seconds = 0;  // time the device was busy with this step
  double energy_joules = 0;   // estimate
  std::string codec;          // activation codec on the wire
  std::int64_t bytes_sent = 0;
  std::int64_t bytes_received = 0;
  std::string receipt_ids;  // comma-separated ids of the neighbours' receipts for this step
};

// A neighbour's signed acknowledgement, kept raw (for re-verification) and parsed.
struct ReceiptRecord {
  std::int64_t at_ms = 0;
  std::string receipt_id;
  std::string run;
  std::int64_t step = 0;
  std::int64_t micro_batch = 0;
  std::int64_t stage = 0;
  std::string sender;
  std::string receiver;
  std::int64_t tokens = 0;
  std::vector<std::uint8_t> payload_hash;
  std::vector<std::uint8_t> raw;
};

// A hub's epoch statement for this owner: the Merkle leaf values, the proof and whether the node
// verified signature and proof before recording it.
struct StatementRecord {
  std::int64_t at_ms = 0;
  std::string run;
  std::int64_t epoch = 0;
  std::string owner;
  double units = 0;      // cumulative verified FLOPs of the owner in the run
  double run_units = 0;  // all units of the run
  std::int64_t cumulative_revenue = 0;  // smallest currency unit
  std::string currency;
  std::vector<std::uint8_t> merkle_root;
  std::vector<std::uint8_t> proof;
  std::vector<std::uint8_t> hub_signature;
  bool verified = false;
};

// Revenue the node saw accrue to its owner in an epoch (before the hub's statement confirms it).
struct RevenueRecord {
  std::int64_t at_ms = 0;
  std::string run;
  std::int64_t epoch = 0;
  std::int64_t amount = 0;  // smallest currency unit
  std::string currency;
  std::string source;  // e.g. "inference"
};

struct PayoutRecord {
  std::int64_t at_ms = 0;
  std::string run;
  std::int64_t amount = 0;
  std::string currency;
  std::string destination;
  std::string transaction_id;
  std::string status;
};

// Things shown to the user: joins, pauses, errors.
struct EventRecord {
  std::int64_t at_ms = 0;
  std::string kind;
  std::string run;
  std::string message;
  std::string details;  // JSON text, may be empty
};

using Record = std::variant<SessionRecord, WorkRecord, ReceiptRecord, StatementRecord, RevenueRecord, PayoutRecord,
                            EventRecord>;

// The tables, in the order of Record's alternatives.
enum class Table { Sessions, Work, Receipts, Statements, Revenue, Payouts, Events };
inline constexpr int kTableCount = 7;

// Column types as stored and hashed.
enum class ColumnType { Integer, Real, Text, Blob };

struct Column {
  std::string_view name;
  ColumnType type;
};

struct TableInfo {
  Table table;
  std::string_view name;  // SQL table name, also the --table value
  std::span<const Column> columns;  // the record's fields, in canonical order (without seq and hashes)
  // Columns no two rows may share (empty: none), kept in the table <name>_keys. A row whose key
  // is already in the log is not recorded again, however often a restarted node fetches the same
  // epoch: accrued revenue once per (run, epoch, source), a statement once per (run, epoch,
  // owner, verified).
  std::span<const std::string_view> unique_key;
};

const TableInfo& table_info(Table table);
std::span<const TableInfo> all_tables();
// Throws std::invalid_argument listing the valid names.
Table table_from_name(std::string_view name);
inline Table table_of(const Record& record) { return static_cast<Table>(record.index()); }

// One stored value; records convert to and from a row of these.
using Value = std::variant<std::int64_t, double, std::string, std::vector<std::uint8_t>>;
std::vector<Value> to_values(const Record& record);
Record from_values(Table table, const std::vector<Value>& values);

// Calls sink.integer(std::int64_t), sink.real(double), sink.text(std::string_view) or
// sink.blob(std::span<const std::uint8_t>) for each column of the record, in TableInfo order,
// without copying (the writer's hot path; to_values is built on it).
template <typename Sink>
void for_each_field(const Record& record, Sink& sink) {
  using Bytes = std::span<const std::uint8_t>;
  switch (record.index()) {
    case 0: {
      const auto& r = std::get<SessionRecord>(record);
      sink.integer(r.at_ms), sink.text(r.session_id), sink.text(r.kind), sink.text(r.run), sink.text(r.device);
      sink.text(r.power_profile);
      return;
    }
    case 1: {
      const auto& r = std::get<WorkRecord>(record);
      sink.integer(r.at_ms), sink.text(r.session_id), sink.text(r.run), sink.integer(r.step), sink.integer(r.stage);
      sink.integer(r.micro_batches), sink.integer(r.tokens), sink.real(r.flops), sink.real(r.device_seconds);
      sink.real(r.energy_joules), sink.text(r.codec), sink.integer(r.bytes_sent), sink.integer(r.bytes_received);
      sink.text(r.receipt_ids);
      return;
    }
    case 2: {
      const auto& r = std::get<ReceiptRecord>(record);
      sink.integer(r.at_ms), sink.text(r.receipt_id), sink.text(r.run), sink.integer(r.step);
      sink.integer(r.micro_batch), sink.integer(r.stage), sink.text(r.sender), sink.text(r.receiver);
      sink.integer(r.tokens), sink.blob(Bytes(r.payload_hash)), sink.blob(Bytes(r.raw));
      return;
    }
    case 3: {
      const auto& r = std::get<StatementRecord>(record);
      sink.integer(r.at_ms), sink.text(r.run), sink.integer(r.epoch), sink.text(r.owner), sink.real(r.units);
      sink.real(r.run_units), sink.integer(r.cumulative_revenue), sink.text(r.currency);
      sink.blob(Bytes(r.merkle_root)), sink.blob(Bytes(r.proof)), sink.blob(Bytes(r.hub_signature));
      sink.integer(std::int64_t{r.verified ? 1 : 0});
      return;
    }
    case 4: {
      const auto& r = std::get<RevenueRecord>(record);
      sink.integer(r.at_ms), sink.text(r.run), sink.integer(r.epoch), sink.integer(r.amount), sink.text(r.currency);
      sink.text(r.source);
      return;
    }
    case 5: {
      const auto& r = std::get<PayoutRecord>(record);
      sink.integer(r.at_ms), sink.text(r.run), sink.integer(r.amount), sink.text(r.currency);
      sink.text(r.destination), sink.text(r.transaction_id), sink.text(r.status);
      return;
    }
    default: {
      const auto& r = std::get<EventRecord>(record);
      sink.integer(r.at_ms), sink.text(r.kind), sink.text(r.run), sink.text(r.message), sink.text(r.details);
      return;
    }
  }
}

}  // namespace tessera::ledger
