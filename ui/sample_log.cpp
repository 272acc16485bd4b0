// The sample contribution log (see sample_log.h).
#include "ui/sample_log.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/ledger/ledger.h"
#include "core/wallet/delegation.h"

namespace tessera::ui {

std::int64_t writeSampleLog(const std::filesystem::path& file, const std::filesystem::path& node_key_file,
                            std::int64_t now_ms, int days, int step_minutes) {
  const auto key = wallet::load_or_create_node_key(node_key_file);
  ledger::LedgerWriter writer(file, key);
  const std::int64_t start = now_ms - static_cast<std::int64_t>(days) * ledger::kDayMs;
  const std::int64_t step_ms = static_cast<std::int64_t>(step_minutes) * 60'000;
  std::vector<ledger::Record> batch;
  std::int64_t rows = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    rows += static_cast<std::int64_t>(batch.size());
    writer.append(std::move(batch));
    batch.clear();
  };
  batch.push_back(ledger::SessionRecord{start, "s1", "start", "tessera-1b", "cuda:0 NVIDIA RTX 4070", "balanced"});
  std::int64_t step = 0;
  for (std::int64_t at = start; at < now_ms; at += step_ms) {
    // Evenings and nights are busier, as a desktop's idle hours are.
    const double hour = static_cast<double>((at / ledger::kHourMs) % 24);
    const double load = 0.55 + 0.45 * std::sin((hour - 14.0) / 24.0 * 2.0 * M_PI);
    ledger::WorkRecord work;
    work.at_ms = at;
    work.session_id = "s1";
    work.run = step % 5 == 4 ? "tessera-moe" : "tessera-1b";
    work.step = ++step;
    work.stage = 2;
    work.micro_batches = 8;
    work.tokens = static_cast<std::int64_t>(16384 * load);
    work.flops = 2.4e15 * load;
    work.device_seconds = step_minutes * 60.0 * 0.8 * load;
    work.energy_joules = work.device_seconds * 180.0;
    work.codec = "int8";
    work.bytes_sent = 48 << 20;
    work.bytes_received = 48 << 20;
    batch.push_back(work);
    if (batch.size() >= 256) flush();
  }
  // Daily epochs: a verified statement for every day but the last, whose statement is pending.
  double units_1b = 0, units_moe = 0;
  std::int64_t revenue_1b = 0;
  for (int day = 0; day < days; ++day) {
    const std::int64_t at = start + static_cast<std::int64_t>(day + 1) * ledger::kDayMs - 60'000;
    units_1b += 5.1e17 * (1.0 + 0.02 * day);
    units_moe += 1.2e17;
    const std::int64_t earned = (120 + 9 * day) * 10'000;  // micro-units: 1.20 USDC and up
    revenue_1b += earned;
    const bool verified = day < days - 1;
    batch.push_back(ledger::RevenueRecord{at - 3'600'000, "tessera-1b", day, earned, "USDC", "inference"});
    ledger::StatementRecord statement;
    statement.at_ms = at;
    statement.run = "tessera-1b";
    statement.epoch = day;
    statement.owner = "owner";
    statement.units = units_1b;
    statement.run_units = units_1b * (180.0 - day);
    statement.cumulative_revenue = revenue_1b;
    statement.currency = "USDC";
    statement.merkle_root.assign(32, static_cast<std::uint8_t>(day));
    // The leaf as a verified statement's proof keeps it: the epoch's rejected receipts and checks, and the data units.
    const std::string proof = "{\"epoch_rejected\": " + std::to_string(day % 4 == 1 ? 2 : 0) +
                              ", \"epoch_checks_passed\": " + std::to_string(3 + day % 3) +
                              ", \"epoch_checks_failed\": 0, \"data_units\": " +
                              std::to_string(static_cast<std::int64_t>(units_1b / 1e6 / 25)) + "}";  // 4 % for data
    statement.proof.assign(proof.begin(), proof.end());
    statement.hub_signature.assign(64, 0xa5);
    statement.verified = verified;
    batch.push_back(statement);
    if (day % 3 == 0) {
      statement.run = "tessera-moe";
      statement.units = units_moe;
      statement.run_units = units_moe * 400.0;
      statement.cumulative_revenue = 0;
      batch.push_back(statement);
    }
  }
  batch.push_back(ledger::EventRecord{now_ms - 7'200'000, "paused", "tessera-1b", "GPU at 84 °C, above the 83 °C cap", ""});
  batch.push_back(ledger::EventRecord{now_ms - 6'600'000, "resumed", "tessera-1b", "GPU back at 78 °C", ""});
  flush();
  return rows;
}

}  // namespace tessera::ui
