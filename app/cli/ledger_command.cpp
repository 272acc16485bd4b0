// `tessera-node log summary|verify|export`: the contribution log from the command line. Each
// works on <data dir>/contributions.db unless --db names another file, and only reads it.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "core/wallet/keypair_file.h"

namespace tessera::cli {
namespace {

struct LogSettings {
  std::string db;
  bool json = false;
  std::string public_key;
  std::string csv_file;
  std::string table = "work";
};

std::filesystem::path log_file(const LogSettings& settings, const GlobalOptions& global) {
  if (!settings.db.empty()) return std::filesystem::absolute(settings.db);
  return global.resolved_data_dir() / ledger::kDefaultFileName;
}

std::string human(double value, const char* unit) {
  static const char* prefixes[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
  int index = 0;
  while (value >= 1000.0 && index < 8) {
    value /= 1000.0;
    ++index;
  }
  std::ostringstream out;
  out.precision(value < 10 ? 2 : 3);
  out << value << ' ' << prefixes[index] << unit;
  return out.str();
}

std::string hours(double seconds) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(seconds < 36000 ? 2 : 1);
  out << seconds / 3600.0 << " h";
  return out.str();
}

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

nlohmann::json donated_json(const ledger::Donated& donated) {
  return {{"device_seconds", donated.device_seconds}, {"flops", donated.flops}, {"tokens", donated.tokens},
          {"energy_kwh", donated.kwh()}, {"steps", donated.steps}};
}

// Amounts are stored in the currency's smallest unit (micro-units: 6 decimals, as USDC).
std::string money(std::int64_t micro, const std::string& currency) {
  char text[64];
  std::snprintf(text, sizeof text, "%s%lld.%06lld %s", micro < 0 ? "-" : "", std::llabs(micro) / 1000000LL,
                std::llabs(micro) % 1000000LL, currency.c_str());
  return text;
}

void print_summary(const ledger::LedgerReader& reader, bool json) {
  const auto summary = reader.summary(ledger::now_ms());
  if (json) {
    nlohmann::json out;
    out["file"] = reader.file().string();
    out["donated"] = {{"24h", donated_json(summary.donated.last_24h)},
                      {"7d", donated_json(summary.donated.last_7d)},
                      {"30d", donated_json(summary.donated.last_30d)},
                      {"all", donated_json(summary.donated.all_time)}};
    out["ownership"] = nlohmann::json::array();
    for (const auto& point : summary.ownership)
      out["ownership"].push_back({{"run", point.run}, {"epoch", point.epoch}, {"at_ms", point.at_ms},
                                  {"units", point.units}, {"run_units", point.run_units}, {"share", point.share()},
                                  {"verified", point.verified}, {"data_units", point.data_units},
                                  {"compute_flops", std::max(0.0, point.units - point.data_flops())}});
    out["revenue"] = nlohmann::json::array();
    for (const auto& epoch : summary.revenue)
      out["revenue"].push_back({{"run", epoch.run}, {"epoch", epoch.epoch}, {"currency", epoch.currency},
                                {"accrued", epoch.accrued},
                                {"verified", epoch.verified ? nlohmann::json(*epoch.verified) : nlohmann::json()}});
    std::cout << out.dump(2) << "\n";
    return;
  }
  const auto& d = summary.donated;
  const ledger::Donated* columns[] = {&d.last_24h, &d.last_7d, &d.last_30d, &d.all_time};
  std::cout << "Contribution log " << reader.file().string() << "\n\nCompute donated      " << pad("24 h", 14)
            << pad("7 d", 14) << pad("30 d", 14) << "all time\n";
  auto line = [&](const char* label, auto format) {
    std::cout << "  " << pad(label, 19);
    for (const auto* column : columns) std::cout << pad(format(*column), 14);
    std::cout << "\n";
  };
  line("device time", [](const ledger::Donated& x) { return hours(x.device_seconds); });
  line("work (FLOPs)", [](const ledger::Donated& x) { return human(x.flops, "FLOP"); });
  line("tokens", [](const ledger::Donated& x) { return human(static_cast<double>(x.tokens), ""); });
  line("energy", [](const ledger::Donated& x) {
    std::ostringstream out;
    out.precision(3);
    out << x.kwh() << " kWh";
    return out.str();
  });
  line("steps", [](const ledger::Donated& x) { return std::to_string(x.steps); });

  std::cout << "\nOwnership earned (latest statement per run)\n";
  if (summary.ownership.empty()) std::cout << "  no statements yet\n";
  std::map<std::string, const ledger::OwnershipPoint*> latest;
  for (const auto& point : summary.ownership) latest[point.run] = &point;
  for (const auto& [run, point] : latest) {
    std::ostringstream share;
    share.precision(4);
    share << point->share() * 100.0 << " %";
    std::cout << "  " << pad(run, 18) << "epoch " << pad(std::to_string(point->epoch), 8)
              << pad(human(point->units, "FLOP"), 14) << "share " << pad(share.str(), 12)
              << (point->verified ? "verified" : "NOT verified yet") << "\n";
    if (point->data_units > 0)  // data units are units too: shown apart from the compute they sit beside
      std::cout << "  " << pad("", 18) << "of which compute " << human(std::max(0.0, point->units - point->data_flops()), "FLOP")
                << ", data " << point->data_units << " units (" << human(point->data_flops(), "FLOP") << " equivalent)\n";
  }

  std::cout << "\nInference revenue per epoch (accrued vs verified)\n";
  if (summary.revenue.empty()) std::cout << "  no revenue yet\n";
  std::int64_t shown = 0;
  const auto first = summary.revenue.size() > 10 ? summary.revenue.size() - 10 : 0;
  if (first > 0) std::cout << "  (last 10 of " << summary.revenue.size() << " epochs; --json lists all)\n";
  for (std::size_t i = first; i < summary.revenue.size(); ++i, ++shown) {
    const auto& epoch = summary.revenue[i];
    std::cout << "  " << pad(epoch.run, 18) << "epoch " << pad(std::to_string(epoch.epoch), 8) << "accrued "
              << pad(money(epoch.accrued, epoch.currency), 18) << "verified "
              << (epoch.verified ? money(*epoch.verified, epoch.currency) : std::string("pending"))
              << "\n";
  }
}

}  // namespace

void add_log_command(CLI::App& app, const GlobalOptions& global) {
  auto settings = std::make_shared<LogSettings>();
  auto* log = app.add_subcommand("log", "Your contribution log: what you donated, own and earned (read-only)");
  log->require_subcommand(1);
  const std::string db_help = "The log file to read (default: <data dir>/" + std::string(ledger::kDefaultFileName) + ")";

  auto* summary = log->add_subcommand("summary", "Compute donated (24 h / 7 d / 30 d / all), ownership and revenue");
  summary->add_option("--db", settings->db, db_help);
  summary->add_flag("--json", settings->json, "Print one JSON object");
  summary->callback([settings, &global] {
    const ledger::LedgerReader reader(log_file(*settings, global));
    print_summary(reader, settings->json);
  });

  auto* verify = log->add_subcommand(
      "verify", "Recompute the hash chain and check every signature; exit status 2 and the first bad row if the "
                "log was altered");
  verify->add_option("--db", settings->db, db_help);
  verify->add_option("--public-key", settings->public_key,
                     "The node key the heads must be signed with (64 hex digits or base64); default: this "
                     "node's key (node_key.json in the data folder) for its own log, else the keys recorded in "
                     "the file");
  verify->add_flag("--json", settings->json, "Print one JSON object");
  verify->callback([settings, &global] {
    std::optional<wallet::PublicKey> expected;
    if (!settings->public_key.empty()) {
      expected = ledger::parse_public_key(settings->public_key);
    } else if (settings->db.empty()) {
      // The node's own log is checked against the node's own key, so a log re-signed with
      // another key fails. (Another file, given with --db, is checked against its recorded keys.)
      const auto key_file = global.resolved_data_dir() / wallet::kNodeKeyFileName;
      if (std::filesystem::exists(key_file)) expected = wallet::read_solana_keypair_file(key_file).public_key();
    }
    const ledger::LedgerReader reader(log_file(*settings, global));
    const auto report = reader.verify(expected);
    if (settings->json) {
      nlohmann::json out{{"file", reader.file().string()}, {"intact", report.intact}, {"rows", report.rows},
                         {"transactions", report.transactions}, {"key_source", report.key_source}};
      out["signer_keys"] = nlohmann::json::array();
      for (const auto& key : report.signer_keys) out["signer_keys"].push_back(wallet::to_hex(key));
      if (report.problem)
        out["first_bad_row"] = {{"seq", report.problem->seq}, {"table", report.problem->table},
                                {"kind", report.problem->kind}, {"detail", report.problem->detail}};
      std::cout << out.dump(2) << "\n";
    } else {
      (report.intact ? std::cout : std::cerr) << reader.file().string() << ": " << report.to_text() << "\n";
    }
    if (!report.intact) throw CLI::RuntimeError(2);
  });

  auto* export_cmd = log->add_subcommand("export", "Write one table of the log as CSV");
  export_cmd->add_option("--db", settings->db, db_help);
  export_cmd->add_option("--csv", settings->csv_file, "The CSV file to write ('-' for standard output)")->required();
  std::string tables;
  for (const auto& info : ledger::all_tables()) tables += (tables.empty() ? "" : "|") + std::string(info.name);
  export_cmd->add_option("--table", settings->table, "Which table: " + tables)->capture_default_str();
  export_cmd->callback([settings, &global] {
    const auto table = ledger::table_from_name(settings->table);
    const ledger::LedgerReader reader(log_file(*settings, global));
    if (settings->csv_file == "-") {
      reader.export_csv(table, std::cout);
      return;
    }
    std::ofstream out(settings->csv_file, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + settings->csv_file + ": " + std::strerror(errno));
    const auto rows = reader.export_csv(table, out);
    out.close();
    if (!out) throw std::runtime_error("cannot finish writing " + settings->csv_file + " (disk full?)");
    std::cerr << "wrote " << rows << " " << settings->table << " rows to " << settings->csv_file << "\n";
  });
}

}  // namespace tessera::cli
