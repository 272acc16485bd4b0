// `tessera-node bench log [--rows N] [--json]`: in a temporary folder, appends N work rows (plus
// a year of daily statements and revenue for three runs) through the real writer (chain hashing,
// one signature per transaction, synchronous=FULL), then times every dashboard query from the
// roll-ups against the same figure computed from the raw rows.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"

namespace tessera::cli {
namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The fastest of `repeats` runs, in milliseconds.
template <typename F>
double best_ms(int repeats, F&& run) {
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    run();
    best = std::min(best, elapsed_ms(start));
  }
  return best;
}

struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tessera-bench-log-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

bool close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)}); }

bool same(const ledger::Donated& a, const ledger::Donated& b) {
  return a.steps == b.steps && a.tokens == b.tokens && close(a.flops, b.flops) &&
         close(a.device_seconds, b.device_seconds) && close(a.energy_joules, b.energy_joules);
}

const char* const kRuns[] = {"run-alpha", "run-beta", "run-gamma"};

// The synthetic log: `rows` work rows spread evenly over the year before `now`, round-robin over
// three runs; each new day first gets the previous day's revenue and statement for every run.
class SyntheticRows {
 public:
  SyntheticRows(std::int64_t rows, std::int64_t now)
      : rows_(rows), span_ms_(365 * ledger::kDayMs), start_ms_(now - span_ms_) {}

  // Appends row `i` (and the daily rows due before it) to `chunk`.
  void add(std::int64_t i, std::vector<ledger::Record>& chunk) {
    const std::int64_t at = start_ms_ + (span_ms_ * i) / rows_ + 1;
    const int run = static_cast<int>(i % 3);
    // A new day: the previous day's statement and revenue for each run (epoch = day).
    const std::int64_t day = (at - start_ms_) / ledger::kDayMs;
    for (; day_done_ < day; ++day_done_)
      for (int r = 0; r < 3; ++r) add_day(r, at, chunk);
    auto work = work_row(i, at, run);
    cumulative_units_[run] += work.flops;
    chunk.push_back(std::move(work));
  }

 private:
  void add_day(int r, std::int64_t at, std::vector<ledger::Record>& chunk) {
    const std::int64_t earned = 1000 + 37 * r + day_done_ % 11;
    chunk.push_back(ledger::RevenueRecord{at, kRuns[r], day_done_, earned, "USDC", "inference"});  // once per epoch
    cumulative_revenue_[r] += earned;
    chunk.push_back(ledger::StatementRecord{at, kRuns[r], day_done_, "owner", cumulative_units_[r],
                                            cumulative_units_[r] * 40.0, cumulative_revenue_[r], "USDC",
                                            std::vector<std::uint8_t>(32, 1), std::vector<std::uint8_t>(96, 2),
                                            std::vector<std::uint8_t>(64, 3), true});
  }

  static ledger::WorkRecord work_row(std::int64_t i, std::int64_t at, int run) {
    ledger::WorkRecord work;
    work.at_ms = at;
    work.session_id = "bench";
    work.run = kRuns[run];
    work.step = i;
    work.stage = 1 + run;
    work.micro_batches = 8;
    work.tokens = 8 * 128;
    work.flops = 3.1e12 + static_cast<double>(i % 1000);
    work.device_seconds = 0.25;
    work.energy_joules = 75.0;
    work.codec = "int8";
    work.bytes_sent = 262144;
    work.bytes_received = 262144;
    work.receipt_ids = "r" + std::to_string(i);
    return work;
  }

  std::int64_t rows_, span_ms_, start_ms_;
  std::int64_t day_done_ = 0;
  double cumulative_units_[3] = {0, 0, 0};
  std::int64_t cumulative_revenue_[3] = {0, 0, 0};
};

struct AppendResult {
  std::int64_t total_rows = 0;  // work rows and the daily rows
  double seconds = 0;
};

// Appends the synthetic log through the real writer, in chunks of 2048 rows with at most 64 in flight.
AppendResult append_rows(const std::filesystem::path& file, const wallet::KeyPair& key, std::int64_t rows,
                         std::int64_t now) {
  AppendResult result;
  ledger::LedgerWriter writer(file, key);
  std::deque<std::future<std::vector<std::int64_t>>> in_flight;
  std::vector<ledger::Record> chunk;
  SyntheticRows synthetic(rows, now);
  const auto started = Clock::now();
  auto flush = [&] {
    result.total_rows += static_cast<std::int64_t>(chunk.size());
    in_flight.push_back(writer.submit(std::move(chunk)));
    chunk = {};
    while (in_flight.size() > 64) {
      in_flight.front().get();
      in_flight.pop_front();
    }
  };
  for (std::int64_t i = 0; i < rows; ++i) {
    synthetic.add(i, chunk);
    if (chunk.size() >= 2048) flush();
  }
  if (!chunk.empty()) flush();
  while (!in_flight.empty()) {
    in_flight.front().get();
    in_flight.pop_front();
  }
  result.seconds = elapsed_ms(started) / 1000.0;
  return result;
}

// Each dashboard query from the roll-ups against the same figure from the raw rows.
struct QueryTimes {
  nlohmann::json queries = nlohmann::json::object();
  double query_ms_max = 0;
  bool figures_match = true;

  void time(const std::string& name, const std::function<bool()>& compare, const std::function<void()>& rollup,
            const std::function<void()>& raw) {
    figures_match = compare() && figures_match;
    const double rollup_ms = best_ms(5, rollup);
    const double raw_ms = best_ms(2, raw);
    query_ms_max = std::max(query_ms_max, rollup_ms);
    queries[name] = {{"rollup_ms", rollup_ms}, {"raw_ms", raw_ms}, {"ratio", raw_ms / std::max(rollup_ms, 1e-6)}};
  }
};

QueryTimes time_queries(const ledger::LedgerReader& reader, std::int64_t now) {
  QueryTimes times;
  const std::pair<const char*, ledger::Span> spans[] = {{"donated_24h", ledger::Span::Last24h},
                                                        {"donated_7d", ledger::Span::Last7d},
                                                        {"donated_30d", ledger::Span::Last30d},
                                                        {"donated_all", ledger::Span::AllTime}};
  for (const auto& [name, span] : spans)
    times.time(
        name, [&, span = span] { return same(reader.donated(now, span), reader.donated_from_raw(now, span)); },
        [&, span = span] { (void)reader.donated(now, span); }, [&, span = span] { (void)reader.donated_from_raw(now, span); });
  times.time(
      "ownership_series", [&] { return reader.ownership_series().size() == reader.ownership_series_from_raw().size(); },
      [&] { (void)reader.ownership_series(); }, [&] { (void)reader.ownership_series_from_raw(); });
  times.time(
      "revenue_per_epoch",
      [&] {
        const auto a = reader.revenue_per_epoch();
        const auto b = reader.revenue_per_epoch_from_raw();
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
                 return x.run == y.run && x.epoch == y.epoch && x.accrued == y.accrued && x.verified == y.verified;
               });
      },
      [&] { (void)reader.revenue_per_epoch(); }, [&] { (void)reader.revenue_per_epoch_from_raw(); });
  return times;
}

struct LogBenchSettings {
  std::int64_t rows = 1'000'000;
  bool json = false;
};

nlohmann::json log_bench(const LogBenchSettings& settings) {
  TempDir dir;
  const auto file = dir.path / ledger::kDefaultFileName;
  const auto key = wallet::KeyPair::generate();
  const std::int64_t rows = settings.rows;
  const std::int64_t now = ledger::now_ms();
  if (!settings.json) std::cerr << "Appending " << rows << " work rows to " << file.string() << "...\n";
  const auto appended = append_rows(file, key, rows, now);

  if (!settings.json) std::cerr << "Timing the dashboard queries...\n";
  const ledger::LedgerReader reader(file);
  const auto times = time_queries(reader, now);

  // Verifying the whole log (every hash and signature), for reference.
  const auto verify_started = Clock::now();
  const auto report = reader.verify(key.public_key());
  const double verify_ms = elapsed_ms(verify_started);
  if (!report.intact) throw std::runtime_error("the benchmark's log does not verify: " + report.to_text());

  std::error_code ec;
  const double append_rate = static_cast<double>(appended.total_rows) / appended.seconds;
  return {{"append_rows_per_s", append_rate},
          {"rows", rows},
          {"total_rows", appended.total_rows},
          {"append_seconds", appended.seconds},
          {"file_bytes", static_cast<std::int64_t>(std::filesystem::file_size(file, ec))},
          {"queries", times.queries},
          {"query_ms_max", times.query_ms_max},
          {"figures_match", times.figures_match},
          {"verify_ms", verify_ms},
          {"targets", {{"append_rows_per_s", 100000}, {"query_ms_max", 20}}},
          {"meets_targets", append_rate >= 100000 && times.query_ms_max <= 20}};
}

void print_log_bench(const nlohmann::json& out) {
  const double append_rate = out["append_rows_per_s"].get<double>();
  std::cout << "append: " << static_cast<std::int64_t>(append_rate) << " rows/s (" << out["total_rows"].get<std::int64_t>()
            << " rows in " << out["append_seconds"].get<double>() << " s)\n";
  for (const auto& [name, figures] : out["queries"].items())
    std::cout << "  " << name << ": roll-up " << figures["rollup_ms"].get<double>() << " ms, raw "
              << figures["raw_ms"].get<double>() << " ms\n";
  std::cout << "slowest roll-up query: " << out["query_ms_max"].get<double>()
            << " ms; figures match: " << (out["figures_match"].get<bool>() ? "yes" : "NO") << "\n";
}

}  // namespace

void add_log_bench(CLI::App& bench) {
  auto settings = std::make_shared<LogBenchSettings>();
  auto* command = bench.add_subcommand("log", "Contribution log: batched append rate and dashboard queries from "
                                              "roll-ups vs raw rows");
  command->add_option("--rows", settings->rows, "Work rows to append")->check(CLI::Range(1000, 100'000'000))
      ->capture_default_str();
  command->add_flag("--json", settings->json, "Print one JSON object");
  command->callback([settings] {
    const auto out = log_bench(*settings);
    if (settings->json)
      std::cout << out.dump(2) << "\n";
    else
      print_log_bench(out);
  });
}

}  // namespace tessera::cli
