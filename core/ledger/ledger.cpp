// The writer thread: batches queued appends into transactions that chain, roll up and sign.
#include "core/ledger/ledger.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

#include <sqlite3.h>

#include "core/ledger/chain.h"
#include "core/ledger/schema.h"
#include "core/ledger/sqlite.h"
#include "core/ledger/unique_keys.h"

namespace tessera::ledger {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

using detail::Connection;
using detail::SqliteError;
using detail::Statement;

std::string insert_sql(const TableInfo& info) {
  std::string columns = "seq, prev_hash, hash";
  std::string marks = "?, ?, ?";
  for (const auto& column : info.columns) {
    columns += ", " + std::string(column.name);
    marks += ", ?";
  }
  return "INSERT INTO " + std::string(info.name) + " (" + columns + ") VALUES (" + marks + ")";
}

void check_finite(const Record& record) {
  bool finite = true;
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, WorkRecord>)
          finite = std::isfinite(r.flops) && std::isfinite(r.device_seconds) && std::isfinite(r.energy_joules);
        if constexpr (std::is_same_v<T, StatementRecord>) finite = std::isfinite(r.units) && std::isfinite(r.run_units);
      },
      record);
  if (!finite) throw std::invalid_argument("a ledger record holds a number that is not finite (NaN or infinity)");
}

void stamp(Record& record, std::int64_t now) {
  std::visit([&](auto& r) { if (r.at_ms == 0) r.at_ms = now; }, record);
}

struct WorkSums {
  std::int64_t rows = 0, micro_batches = 0, tokens = 0, bytes_sent = 0, bytes_received = 0;
  double flops = 0, device_seconds = 0, energy_joules = 0;
};

}  // namespace

struct LedgerWriter::Impl {
  struct Request {
    std::vector<Record> records;
    std::promise<std::vector<std::int64_t>> done;
  };

  Impl(const std::filesystem::path& path, const wallet::KeyPair& node_key, WriterOptions writer_options)
      : connection(path, Connection::Mode::ReadWriteCreate),
        key(wallet::KeyPair::from_seed(node_key.seed())),
        options(writer_options) {
    detail::check_file(connection, /*allow_empty=*/true);
    if (sqlite3_db_readonly(connection.handle(), "main") == 1)
      throw SqliteError(SQLITE_READONLY, "read-only");
    {
      auto mode = connection.prepare("PRAGMA journal_mode = WAL");
      if (!mode.step() || mode.column_text(0) != "wal")
        throw std::runtime_error("contribution log " + path.string() +
                                 ": cannot switch to write-ahead logging (is the folder on a network drive?)");
    }
    connection.exec("PRAGMA synchronous = FULL");
    connection.exec("PRAGMA foreign_keys = ON");
    connection.exec("PRAGMA cache_size = -16384");
    if (options.max_file_bytes) {
      const auto page_size = connection.pragma_int("page_size");
      connection.exec("PRAGMA max_page_count = " + std::to_string(std::max<std::int64_t>(1, *options.max_file_bytes / page_size)));
    }
    detail::migrate(connection);
    for (const auto& info : all_tables()) inserts.push_back(connection.prepare(insert_sql(info)));
    insert_head.emplace(connection,
        "INSERT INTO heads (txn, last_seq, head_hash, public_key, signature, committed_at_ms) VALUES (?, ?, ?, ?, ?, ?)");
    upsert_work.emplace(connection, R"sql(
      INSERT INTO rollup_work VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (granularity, bucket_ms, run) DO UPDATE SET
        rows = rows + excluded.rows, micro_batches = micro_batches + excluded.micro_batches,
        tokens = tokens + excluded.tokens, flops = flops + excluded.flops,
        device_seconds = device_seconds + excluded.device_seconds,
        energy_joules = energy_joules + excluded.energy_joules, bytes_sent = bytes_sent + excluded.bytes_sent,
        bytes_received = bytes_received + excluded.bytes_received)sql");
    upsert_ownership.emplace(connection, R"sql(
      INSERT INTO rollup_ownership VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, )sql" +
        detail::proof_count_sql("?10", "rejected_receipts") + ", " +
        detail::proof_count_sql("?10", "checks_passed") + ", " +
        detail::proof_count_sql("?10", "checks_failed") + ", " + detail::proof_data_units_sql("?10") + R"sql()
      ON CONFLICT (run, epoch) DO UPDATE SET
        at_ms = excluded.at_ms, units = excluded.units, run_units = excluded.run_units,
        cumulative_revenue = excluded.cumulative_revenue, currency = excluded.currency,
        verified = excluded.verified, statement_seq = excluded.statement_seq,
        epoch_rejected = excluded.epoch_rejected, epoch_checks_passed = excluded.epoch_checks_passed,
        epoch_checks_failed = excluded.epoch_checks_failed, data_units = excluded.data_units
      WHERE excluded.verified >= rollup_ownership.verified)sql");
    upsert_revenue.emplace(connection, R"sql(
      INSERT INTO rollup_revenue VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run, epoch, currency) DO UPDATE SET
        accrued = accrued + excluded.accrued, rows = rows + excluded.rows)sql");
    unique_keys.emplace(connection);
    load_state();
    thread = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (thread.joinable()) thread.join();
  }

  // The chain position after the last committed row, read back from the file.
  void load_state() {
    last_seq = 0;
    head = Hash{};
    for (const auto& info : all_tables()) {
      auto last = connection.prepare("SELECT seq, hash FROM " + std::string(info.name) + " ORDER BY seq DESC LIMIT 1");
      if (last.step() && last.column_int(0) > last_seq) {
        last_seq = last.column_int(0);
        const auto hash = last.column_blob(1);
        head = Hash{};
        std::copy_n(hash.begin(), std::min(hash.size(), head.size()), head.begin());
      }
    }
    auto txn = connection.prepare("SELECT COALESCE(MAX(txn), 0) FROM heads");
    txn.step();
    last_txn = txn.column_int(0);
  }

  std::future<std::vector<std::int64_t>> submit(std::vector<Record> records) {
    if (records.empty()) {
      std::promise<std::vector<std::int64_t>> nothing;
      nothing.set_value({});
      return nothing.get_future();
    }
    const auto now = now_ms();
    for (auto& record : records) {
      check_finite(record);
      stamp(record, now);
    }
    auto request = std::make_unique<Request>();
    request->records = std::move(records);
    auto future = request->done.get_future();
    {
      std::lock_guard lock(mutex);
      if (stopping) throw std::logic_error("the contribution log is closing");
      queue.push_back(std::move(request));
    }
    wake.notify_one();
    return future;
  }

  void run() {
    for (;;) {
      std::vector<std::unique_ptr<Request>> batch;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and everything queued is committed
        std::size_t rows = 0;
        while (!queue.empty() && (batch.empty() || rows + queue.front()->records.size() <= options.max_batch_rows)) {
          rows += queue.front()->records.size();
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      commit(batch);
    }
  }

  void commit(std::vector<std::unique_ptr<Request>>& batch) {
    if (broken) {
      for (auto& request : batch)
        request->done.set_exception(std::make_exception_ptr(
            std::runtime_error("the contribution log stopped recording after an error (" + *broken +
                               "); restart the node to recover")));
      return;
    }
    std::vector<std::vector<std::int64_t>> seqs(batch.size());
    try {
      connection.exec("BEGIN IMMEDIATE");
      write_rows(batch, seqs);
      connection.exec("COMMIT");
    } catch (const std::exception& error) {
      std::string message = error.what();
      if (const auto* sql_error = dynamic_cast<const SqliteError*>(&error))
        message = detail::describe(sql_error->code(), connection.handle(), connection.file(), "record new entries in");
      sqlite3_exec(connection.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      if (sqlite3_get_autocommit(connection.handle()) == 0) {
        // The transaction could not be rolled back: refuse further appends rather than build on
        // an unknown state. Reopening the log recovers (SQLite rolls back on open).
        broken = message;
      }
      try {
        load_state();
      } catch (...) {
      }
      for (auto& request : batch)
        request->done.set_exception(std::make_exception_ptr(std::runtime_error(message)));
      return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(seqs[i]));
  }

  void write_rows(std::vector<std::unique_ptr<Request>>& batch, std::vector<std::vector<std::int64_t>>& seqs) {
    std::map<std::tuple<int, std::int64_t, std::string>, WorkSums> work_sums;
    std::map<std::tuple<std::string, std::int64_t, std::string>, std::pair<std::int64_t, std::int64_t>> revenue_sums;
    std::vector<std::uint8_t> canonical;
    std::int64_t seq = last_seq;
    Hash hash = head;
    for (std::size_t r = 0; r < batch.size(); ++r) {
      for (const auto& record : batch[r]->records) {
        if (const auto existing = unique_keys->recorded(record)) {
          seqs[r].push_back(*existing);  // already in the log: nothing is recorded twice
          continue;
        }
        const Table table = table_of(record);
        canonical.clear();
        append_canonical(record, canonical);
        const Hash previous = hash;
        hash = chain_hash(previous, canonical);
        ++seq;
        auto& insert = inserts[static_cast<std::size_t>(table)];
        insert.bind(1, seq);
        insert.bind_blob_static(2, previous);
        insert.bind_blob_static(3, hash);
        struct Binder {
          Statement& statement;
          int index = 4;
          void integer(std::int64_t value) { statement.bind(index++, value); }
          void real(double value) { statement.bind(index++, value); }
          void text(std::string_view value) { statement.bind_text_static(index++, value); }
          void blob(std::span<const std::uint8_t> value) { statement.bind_blob_static(index++, value); }
        } binder{insert};
        for_each_field(record, binder);
        insert.run();
        unique_keys->remember(record, seq);
        seqs[r].push_back(seq);
        roll_up(record, seq, work_sums, revenue_sums);
      }
    }
    for (const auto& [bucket, sums] : work_sums) {
      upsert_work->bind(1, std::int64_t{std::get<0>(bucket)});
      upsert_work->bind(2, std::get<1>(bucket));
      upsert_work->bind(3, std::string_view(std::get<2>(bucket)));
      upsert_work->bind(4, sums.rows);
      upsert_work->bind(5, sums.micro_batches);
      upsert_work->bind(6, sums.tokens);
      upsert_work->bind(7, sums.flops);
      upsert_work->bind(8, sums.device_seconds);
      upsert_work->bind(9, sums.energy_joules);
      upsert_work->bind(10, sums.bytes_sent);
      upsert_work->bind(11, sums.bytes_received);
      upsert_work->run();
    }
    for (const auto& [bucket, sums] : revenue_sums) {
      upsert_revenue->bind(1, std::string_view(std::get<0>(bucket)));
      upsert_revenue->bind(2, std::get<1>(bucket));
      upsert_revenue->bind(3, std::string_view(std::get<2>(bucket)));
      upsert_revenue->bind(4, sums.first);
      upsert_revenue->bind(5, sums.second);
      upsert_revenue->run();
    }
    if (seq == last_seq) return;  // every row was already recorded: no new head to sign
    const std::int64_t txn = last_txn + 1;
    const auto message = head_message(txn, seq, hash);
    const auto signature = key.sign(wallet::SignatureDomain::LedgerHead, message);
    insert_head->bind(1, txn);
    insert_head->bind(2, seq);
    insert_head->bind_blob(3, hash);
    insert_head->bind_blob(4, key.public_key());
    insert_head->bind_blob(5, signature);
    insert_head->bind(6, now_ms());
    insert_head->run();
    // Only now, with every statement done, does the in-memory chain position move; COMMIT failing
    // afterwards reloads it from the file.
    last_seq = seq;
    head = hash;
    last_txn = txn;
  }

  void roll_up(const Record& record, std::int64_t seq,
               std::map<std::tuple<int, std::int64_t, std::string>, WorkSums>& work_sums,
               std::map<std::tuple<std::string, std::int64_t, std::string>, std::pair<std::int64_t, std::int64_t>>&
                   revenue_sums) {
    if (const auto* work = std::get_if<WorkRecord>(&record)) {
      for (int granularity = 0; granularity < 2; ++granularity) {
        const std::int64_t size = granularity == 0 ? kHourMs : kDayMs;
        auto& sums = work_sums[{granularity, (work->at_ms / size) * size, work->run}];
        sums.rows += 1;
        sums.micro_batches += work->micro_batches;
        sums.tokens += work->tokens;
        sums.flops += work->flops;
        sums.device_seconds += work->device_seconds;
        sums.energy_joules += work->energy_joules;
        sums.bytes_sent += work->bytes_sent;
        sums.bytes_received += work->bytes_received;
      }
    } else if (const auto* revenue = std::get_if<RevenueRecord>(&record)) {
      auto& sums = revenue_sums[{revenue->run, revenue->epoch, revenue->currency}];
      sums.first += revenue->amount;
      sums.second += 1;
    } else if (const auto* statement = std::get_if<StatementRecord>(&record)) {
      upsert_ownership->bind(1, std::string_view(statement->run));
      upsert_ownership->bind(2, statement->epoch);
      upsert_ownership->bind(3, statement->at_ms);
      upsert_ownership->bind(4, statement->units);
      upsert_ownership->bind(5, statement->run_units);
      upsert_ownership->bind(6, statement->cumulative_revenue);
      upsert_ownership->bind(7, std::string_view(statement->currency));
      upsert_ownership->bind(8, std::int64_t{statement->verified ? 1 : 0});
      upsert_ownership->bind(9, seq);
      upsert_ownership->bind_blob(10, statement->proof);
      upsert_ownership->run();
    }
  }

  Connection connection;
  wallet::KeyPair key;
  WriterOptions options;
  std::vector<Statement> inserts;
  std::optional<Statement> insert_head;
  std::optional<Statement> upsert_work;
  std::optional<Statement> upsert_ownership;
  std::optional<Statement> upsert_revenue;
  std::optional<detail::UniqueKeys> unique_keys;

  std::int64_t last_seq = 0;
  Hash head{};
  std::int64_t last_txn = 0;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::unique_ptr<Request>> queue;
  bool stopping = false;
  std::optional<std::string> broken;  // set (by the writer thread only) when a rollback failed
  std::thread thread;
};

LedgerWriter::LedgerWriter(const std::filesystem::path& file, const wallet::KeyPair& node_key, WriterOptions options) {
  try {
    impl_ = std::make_unique<Impl>(file, node_key, options);
  } catch (const SqliteError& error) {
    // Name what the user tried, not the statement that failed.
    throw std::runtime_error(detail::describe(error.code(), nullptr, file, "write to"));
  }
}

LedgerWriter::~LedgerWriter() = default;

std::int64_t LedgerWriter::append(Record record) {
  std::vector<Record> records;
  records.push_back(std::move(record));
  return append(std::move(records)).at(0);
}

std::vector<std::int64_t> LedgerWriter::append(std::vector<Record> records) {
  return impl_->submit(std::move(records)).get();
}

std::future<std::vector<std::int64_t>> LedgerWriter::submit(std::vector<Record> records) {
  return impl_->submit(std::move(records));
}

const std::filesystem::path& LedgerWriter::file() const { return impl_->connection.file(); }

}  // namespace tessera::ledger
