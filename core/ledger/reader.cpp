// Read-only queries over the contribution log: roll-ups, raw equivalents, export; verification
// itself is core/ledger/verify.cpp.
#include "core/ledger/reader.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>

#include <sodium.h>
#include <sqlite3.h>

#include "core/ledger/row_values.h"
#include "core/ledger/schema.h"
#include "core/ledger/sqlite.h"
#include "core/ledger/verify.h"
#include "core/wallet/encoding.h"

namespace tessera::ledger {
namespace {

using detail::column_list;
using detail::Connection;
using detail::read_values;
using detail::Statement;

// One statement per (run, epoch): the precedence the roll-up keeps.
struct Pick {
  std::string run;
  std::int64_t epoch = 0;
  std::int64_t at_ms = 0;
  double units = 0, run_units = 0;
  std::int64_t cumulative_revenue = 0;
  std::string currency;
  bool verified = false;
  std::int64_t rejected = 0, checks_passed = 0, checks_failed = 0;
  std::int64_t data_units = 0;
};

struct Accrued {
  std::string run;
  std::int64_t epoch = 0;
  std::string currency;
  std::int64_t amount = 0;
};

std::vector<OwnershipPoint> to_ownership(const std::vector<Pick>& picks) {
  std::vector<OwnershipPoint> points;
  points.reserve(picks.size());
  for (const auto& pick : picks)
    points.push_back({pick.run, pick.epoch, pick.at_ms, pick.units, pick.run_units, pick.verified, pick.rejected,
                      pick.checks_passed, pick.checks_failed, pick.data_units});
  return points;
}

std::vector<EpochRevenue> combine(const std::vector<Pick>& picks, const std::vector<Accrued>& accrued) {
  std::map<std::tuple<std::string, std::int64_t, std::string>, EpochRevenue> epochs;
  for (const auto& row : accrued) {
    auto& epoch = epochs[{row.run, row.epoch, row.currency}];
    epoch.run = row.run, epoch.epoch = row.epoch, epoch.currency = row.currency;
    epoch.accrued += row.amount;
  }
  // picks are ordered by run, epoch: verified revenue of an epoch is the growth of the cumulative
  // figure since the run's previous verified statement.
  std::map<std::pair<std::string, std::string>, std::int64_t> previous;
  for (const auto& pick : picks) {
    if (!pick.verified) continue;
    auto& before = previous[{pick.run, pick.currency}];
    auto& epoch = epochs[{pick.run, pick.epoch, pick.currency}];
    epoch.run = pick.run, epoch.epoch = pick.epoch, epoch.currency = pick.currency;
    epoch.verified = pick.cumulative_revenue - before;
    before = pick.cumulative_revenue;
  }
  std::vector<EpochRevenue> result;
  result.reserve(epochs.size());
  for (auto& [key, epoch] : epochs) result.push_back(std::move(epoch));
  return result;
}

struct Window {
  std::int64_t start_ms;
  int granularity;  // of the roll-up buckets that cover it
};

std::array<Window, 4> windows(std::int64_t now_ms) {
  const std::int64_t hour = (now_ms / kHourMs) * kHourMs;
  return {{{hour - 23 * kHourMs, 0},
           {hour - 167 * kHourMs, 0},
           {hour - 719 * kHourMs, 0},
           {std::numeric_limits<std::int64_t>::min(), 1}}};
}

std::string csv_field(const std::string& raw) {
  // Text from peers or the hub must not run as a spreadsheet formula when the CSV is opened.
  const bool formula = !raw.empty() && std::string_view("=+-@\t\r").find(raw.front()) != std::string_view::npos;
  const std::string text = formula ? "'" + raw : raw;
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

wallet::PublicKey parse_public_key(const std::string& text) {
  wallet::ensure_sodium();
  wallet::PublicKey key{};
  std::size_t used = 0;
  if (text.size() == 64 &&
      sodium_hex2bin(key.data(), key.size(), text.data(), text.size(), nullptr, &used, nullptr) == 0 && used == 32)
    return key;
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    std::array<std::uint8_t, 33> decoded{};
    if (sodium_base642bin(decoded.data(), decoded.size(), text.data(), text.size(), nullptr, &used, nullptr,
                          variant) == 0 &&
        used == 32) {
      std::copy_n(decoded.begin(), 32, key.begin());
      return key;
    }
  }
  throw std::invalid_argument("'" + text + "' is not an Ed25519 public key (expected 64 hex digits or base64 of 32 bytes)");
}

struct LedgerReader::Impl {
  explicit Impl(const std::filesystem::path& path) : connection(open(path)) {
    version = detail::check_file(connection, /*allow_empty=*/false);
    has_rollups = version >= 2;
  }

  // A read-only connection; in a folder where the WAL index cannot be created (a read-only
  // folder) and no writer is active (no -wal file), the file is read as immutable instead.
  static Connection open(const std::filesystem::path& path) {
    check_exists(path);
    Connection connection(path, Connection::Mode::ReadOnly);
    try {
      connection.pragma_int("application_id");
      return connection;
    } catch (const detail::SqliteError& error) {
      std::error_code ec;
      const bool cannot_index = error.code() == SQLITE_READONLY || error.code() == SQLITE_CANTOPEN;
      if (!cannot_index || std::filesystem::exists(path.string() + "-wal", ec)) throw;
    }
    return Connection(path, Connection::Mode::Immutable);
  }

  static void check_exists(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw std::runtime_error("no contribution log at " + path.string() +
                               " (the node creates it when it first records work; pass --db to read another file)");
    if (std::filesystem::is_directory(path, ec))
      throw std::runtime_error("contribution log " + path.string() + " is a folder, not a file");
  }

  // Holds one read snapshot across several queries (nested uses share the outer one).
  struct Snapshot {
    explicit Snapshot(Impl& impl) : self(impl) {
      if (self.snapshot_depth++ == 0) self.connection.exec("BEGIN");
    }
    ~Snapshot() {
      if (--self.snapshot_depth == 0) {
        try {
          self.connection.exec("COMMIT");
        } catch (...) {
        }
      }
    }
    Impl& self;
  };

  Donated sum_work(const char* sql, std::int64_t start, std::optional<int> granularity) {
    auto query = connection.prepare(sql);
    int index = 1;
    if (granularity) query.bind(index++, std::int64_t{*granularity});
    query.bind(index, start);
    Donated donated;
    if (query.step()) {
      donated.steps = query.column_int(0);
      donated.tokens = query.column_int(1);
      donated.flops = query.column_double(2);
      donated.device_seconds = query.column_double(3);
      donated.energy_joules = query.column_double(4);
    }
    return donated;
  }

  Donated donated(std::int64_t now, Span span, bool raw) {
    const auto window = windows(now)[static_cast<std::size_t>(span)];
    if (raw || !has_rollups)
      return sum_work(
          "SELECT COUNT(*), COALESCE(SUM(tokens), 0), COALESCE(SUM(flops), 0.0), COALESCE(SUM(device_seconds), 0.0), "
          "COALESCE(SUM(energy_joules), 0.0) FROM work WHERE at_ms >= ?",
          window.start_ms, std::nullopt);
    return sum_work(
        "SELECT COALESCE(SUM(rows), 0), COALESCE(SUM(tokens), 0), COALESCE(SUM(flops), 0.0), "
        "COALESCE(SUM(device_seconds), 0.0), COALESCE(SUM(energy_joules), 0.0) FROM rollup_work "
        "WHERE granularity = ? AND bucket_ms >= ?",
        window.start_ms, window.granularity);
  }

  DonatedSummary donated(std::int64_t now, bool raw) {
    Snapshot snapshot(*this);
    return {donated(now, Span::Last24h, raw), donated(now, Span::Last7d, raw), donated(now, Span::Last30d, raw),
            donated(now, Span::AllTime, raw)};
  }

  std::vector<Pick> picks(bool raw) {
    std::vector<Pick> result;
    if (raw || !has_rollups) {
      auto query = connection.prepare(
          "SELECT run, epoch, at_ms, units, run_units, cumulative_revenue, currency, verified, " +
          (version >= 4 ? detail::proof_activity_sql("proof") : std::string("0, 0, 0")) +  // as its roll-up has them
          ", " + (version >= 5 ? detail::proof_data_units_sql("proof") : std::string("0")) +
          " FROM statements ORDER BY run, epoch, verified, seq");
      while (query.step()) {
        Pick pick{query.column_text(0), query.column_int(1), query.column_int(2), query.column_double(3),
                  query.column_double(4), query.column_int(5), query.column_text(6), query.column_int(7) != 0,
                  query.column_int(8), query.column_int(9), query.column_int(10), query.column_int(11)};
        if (!result.empty() && result.back().run == pick.run && result.back().epoch == pick.epoch)
          result.back() = std::move(pick);
        else
          result.push_back(std::move(pick));
      }
      return result;
    }
    auto query = connection.prepare(
        std::string("SELECT run, epoch, at_ms, units, run_units, cumulative_revenue, currency, verified, ") +
        (version >= 4 ? "epoch_rejected, epoch_checks_passed, epoch_checks_failed" : "0, 0, 0") +
        (version >= 5 ? ", data_units" : ", 0") + " FROM rollup_ownership ORDER BY run, epoch");
    while (query.step())
      result.push_back({query.column_text(0), query.column_int(1), query.column_int(2), query.column_double(3),
                        query.column_double(4), query.column_int(5), query.column_text(6), query.column_int(7) != 0,
                        query.column_int(8), query.column_int(9), query.column_int(10), query.column_int(11)});
    return result;
  }

  // The first row of each (run, epoch, source) counts (TableInfo::unique_key); a log written before
  // schema version 3 may hold repeats, and its revenue roll-up still counts them, so such a file is
  // read from the raw rows.
  std::vector<Accrued> accrued(bool raw) {
    auto query = connection.prepare(
        raw || version < 3
            ? "SELECT run, epoch, currency, SUM(amount) FROM revenue WHERE seq IN "
              "(SELECT MIN(seq) FROM revenue GROUP BY run, epoch, source) GROUP BY run, epoch, currency"
            : "SELECT run, epoch, currency, accrued FROM rollup_revenue");
    std::vector<Accrued> result;
    while (query.step())
      result.push_back({query.column_text(0), query.column_int(1), query.column_text(2), query.column_int(3)});
    return result;
  }

  std::vector<EpochRevenue> revenue(bool raw) {
    Snapshot snapshot(*this);
    return combine(picks(raw), accrued(raw));
  }

  std::optional<std::pair<Table, Record>> row(std::int64_t seq) {
    Snapshot snapshot(*this);
    for (const auto& info : all_tables()) {
      auto query = connection.prepare("SELECT 0" + column_list(info) + " FROM " + std::string(info.name) +
                                      " WHERE seq = ?");
      query.bind(1, seq);
      if (query.step()) return std::make_pair(info.table, from_values(info.table, read_values(query, info, 1)));
    }
    return std::nullopt;
  }

  std::vector<DonatedBucket> donated_series(std::int64_t now, Span span) {
    // The same rows as donated(now, span) (same window, same roll-up granularity), grouped into
    // hours for the short windows and days for the long ones, so the buckets add up to the total.
    const auto window = windows(now)[static_cast<std::size_t>(span)];
    const bool by_day = span == Span::Last30d || span == Span::AllTime;
    const std::int64_t size = by_day ? kDayMs : kHourMs;
    const bool rollups = has_rollups;
    auto query = connection.prepare(
        rollups ? "SELECT (bucket_ms / ?) * ?, SUM(rows), SUM(tokens), SUM(flops), SUM(device_seconds), "
                  "SUM(energy_joules) FROM rollup_work WHERE granularity = ? AND bucket_ms >= ? GROUP BY 1 ORDER BY 1"
                : "SELECT (at_ms / ?) * ?, COUNT(*), SUM(tokens), SUM(flops), SUM(device_seconds), "
                  "SUM(energy_joules) FROM work WHERE at_ms >= ? GROUP BY 1 ORDER BY 1");
    query.bind(1, size);
    query.bind(2, size);
    if (rollups) {
      query.bind(3, std::int64_t{window.granularity});
      query.bind(4, window.start_ms);
    } else {
      query.bind(3, window.start_ms);
    }
    std::vector<DonatedBucket> result;
    while (query.step()) {
      DonatedBucket bucket;
      bucket.start_ms = query.column_int(0);
      bucket.donated.steps = query.column_int(1);
      bucket.donated.tokens = query.column_int(2);
      bucket.donated.flops = query.column_double(3);
      bucket.donated.device_seconds = query.column_double(4);
      bucket.donated.energy_joules = query.column_double(5);
      result.push_back(bucket);
    }
    return result;
  }

  std::vector<PagedRow> page(Table table, std::int64_t offset, std::int64_t limit) {
    const auto& info = table_info(table);
    auto query = connection.prepare("SELECT seq" + column_list(info) + " FROM " + std::string(info.name) +
                                    " ORDER BY seq DESC LIMIT ? OFFSET ?");
    query.bind(1, std::max<std::int64_t>(limit, 0));
    query.bind(2, std::max<std::int64_t>(offset, 0));
    std::vector<PagedRow> rows;
    while (query.step()) rows.push_back({query.column_int(0), from_values(table, read_values(query, info, 1))});
    return rows;
  }

  Connection connection;
  int version = 0;
  bool has_rollups = false;
  int snapshot_depth = 0;
};

LedgerReader::LedgerReader(const std::filesystem::path& file) {
  try {
    impl_ = std::make_unique<Impl>(file);
  } catch (const detail::SqliteError& error) {
    throw std::runtime_error(detail::describe(error.code(), nullptr, file, "read"));
  }
}
LedgerReader::~LedgerReader() = default;

int LedgerReader::schema_version() const { return impl_->version; }
const std::filesystem::path& LedgerReader::file() const { return impl_->connection.file(); }

DonatedSummary LedgerReader::donated(std::int64_t now_ms) const { return impl_->donated(now_ms, false); }
DonatedSummary LedgerReader::donated_from_raw(std::int64_t now_ms) const { return impl_->donated(now_ms, true); }
Donated LedgerReader::donated(std::int64_t now_ms, Span span) const { return impl_->donated(now_ms, span, false); }
Donated LedgerReader::donated_from_raw(std::int64_t now_ms, Span span) const {
  return impl_->donated(now_ms, span, true);
}

std::vector<OwnershipPoint> LedgerReader::ownership_series() const { return to_ownership(impl_->picks(false)); }
std::vector<OwnershipPoint> LedgerReader::ownership_series_from_raw() const { return to_ownership(impl_->picks(true)); }
std::vector<EpochRevenue> LedgerReader::revenue_per_epoch() const { return impl_->revenue(false); }
std::vector<EpochRevenue> LedgerReader::revenue_per_epoch_from_raw() const { return impl_->revenue(true); }

Summary LedgerReader::summary(std::int64_t now_ms) const {
  Impl::Snapshot snapshot(*impl_);
  return {donated(now_ms), ownership_series(), revenue_per_epoch()};
}

std::int64_t LedgerReader::row_count(Table table) const {
  auto query = impl_->connection.prepare("SELECT COUNT(*) FROM " + std::string(table_info(table).name));
  query.step();
  return query.column_int(0);
}

std::int64_t LedgerReader::row_count() const {
  Impl::Snapshot snapshot(*impl_);
  std::int64_t total = 0;
  for (const auto& info : all_tables()) total += row_count(info.table);
  return total;
}

std::optional<std::pair<Table, Record>> LedgerReader::row(std::int64_t seq) const { return impl_->row(seq); }

std::optional<std::int64_t> LedgerReader::last_verified_epoch(const std::string& run, const std::string& owner) const {
  auto query = impl_->connection.prepare("SELECT MAX(epoch) FROM statements WHERE run = ? AND owner = ? AND verified = 1");
  query.bind(1, std::string_view(run));
  query.bind(2, std::string_view(owner));
  if (!query.step() || query.column_is_null(0)) return std::nullopt;
  return query.column_int(0);
}

std::vector<DonatedBucket> LedgerReader::donated_series(std::int64_t now_ms, Span span) const {
  return impl_->donated_series(now_ms, span);
}

std::vector<PagedRow> LedgerReader::page(Table table, std::int64_t offset, std::int64_t limit) const {
  return impl_->page(table, offset, limit);
}

VerifyReport LedgerReader::verify(const std::optional<wallet::PublicKey>& expected_key) const {
  // One snapshot: the chain and both ways of computing the dashboards see the same rows.
  Impl::Snapshot snapshot(*impl_);
  auto report = detail::verify_chain(impl_->connection, expected_key);
  if (!report.intact) return report;
  // The roll-ups are not in the chain; they must equal what the signed rows add up to, or the
  // dashboards (and `log summary`) would show figures the rows do not support.
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const Summary from_rollups{donated(now), ownership_series(), revenue_per_epoch()};
  const Summary from_rows{donated_from_raw(now), ownership_series_from_raw(), revenue_per_epoch_from_raw()};
  if (const auto figure = detail::rollup_mismatch(from_rollups, from_rows)) {
    report.intact = false;
    report.problem = VerifyProblem{0, "roll-ups", "edited",
                                   "the " + *figure + " roll-up tables disagree with the signed rows: they were "
                                   "edited (the rows themselves are intact)"};
  }
  return report;
}

std::string LedgerReader::integrity_check() const {
  auto query = impl_->connection.prepare("PRAGMA integrity_check");
  return query.step() ? query.column_text(0) : std::string("no answer");
}

std::int64_t LedgerReader::export_csv(Table table, std::ostream& out) const {
  const auto& info = table_info(table);
  Impl::Snapshot snapshot(*impl_);
  auto query = impl_->connection.prepare("SELECT seq, hash" + column_list(info) + " FROM " + std::string(info.name) +
                                         " ORDER BY seq");
  out << "seq,hash";
  for (const auto& column : info.columns) out << ',' << column.name;
  out << "\r\n";
  std::int64_t rows = 0;
  char number[32];
  while (query.step()) {
    out << query.column_int(0) << ',' << wallet::to_hex(query.column_blob(1));
    const auto values = read_values(query, info, 2);
    for (const auto& value : values) {
      out << ',';
      if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        out << *integer;
      } else if (const auto* real = std::get_if<double>(&value)) {
        std::snprintf(number, sizeof number, "%.17g", *real);
        out << number;
      } else if (const auto* text = std::get_if<std::string>(&value)) {
        out << csv_field(*text);
      } else {
        out << wallet::to_hex(std::get<std::vector<std::uint8_t>>(value));
      }
    }
    out << "\r\n";
    ++rows;
  }
  if (!out) throw std::runtime_error("cannot write the CSV export (disk full?)");
  return rows;
}

}  // namespace tessera::ledger
