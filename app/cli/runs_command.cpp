// `tessera-node runs [list] | add LINK | remove RUN | join RUN | leave | switch RUN` over the
// control API of the node running in --data-dir (control.json names its port and token), and
// `tessera-node runs show LINK`, which needs no running node: the run's catalog entry from its hub
// and this machine's fit, from a doctor measurement of its own (docs/runs.md).
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "core/control/control_api.h"
#include "core/control/control_file.h"
#include "core/model/model_config.h"
#include "core/node/catalog_cache.h"
#include "core/node/doctor.h"
#include "core/node/run_fit.h"
#include "core/protocol/run_link.h"
#include "core/wallet/secure_file.h"

namespace tessera::cli {
namespace {

std::string bytes(std::uint64_t n) { return model::format_bytes(static_cast<std::int64_t>(n)); }

std::string number(double value, const char* format = "%.3g") {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

void print_catalog(const nlohmann::json& entry) {
  const auto model = entry.value("model", nlohmann::json::object());
  std::cout << "    model: " << model.value("layers", 0) << " layers x " << model.value("width", 0) << ", "
            << number(entry.value("parameters", 0.0)) << " parameters, " << entry.value("stages", 0) << " stages, peers "
            << entry.value("peers_per_stage", nlohmann::json::array()).dump() << ", step " << entry.value("steps", 0);
  if (entry.contains("loss") && entry["loss"].is_number()) std::cout << ", loss " << number(entry["loss"].get<double>());
  std::cout << "\n    price: " << entry.value("price_per_1k_tokens", 0) << " micro-" << entry.value("currency", "")
            << " per 1,000 tokens; last epoch's revenue " << number(entry.value("last_epoch_revenue", 0.0) / 1e6, "%.2f")
            << " " << entry.value("currency", "") << (entry.value("retired", false) ? "; RETIRED" : "") << "\n";
}

void print_fit(const control::RunFit& fit) {
  std::cout << "    fit (estimate): ";
  if (!fit.fits) std::cout << "does not fit: " << fit.why << "\n    ";
  if (fit.stage)
    std::cout << "stage " << *fit.stage + 1 << " of " << fit.stages << ", needs " << bytes(fit.memory_needed_bytes)
              << " of " << bytes(fit.memory_available_bytes) << " (" << fit.memory_of << ")";
  if (fit.tokens_per_s)
    std::cout << ", about " << number(*fit.tokens_per_s) << " tokens/s, " << number(fit.units_per_day)
              << " units/day, " << number(fit.revenue_per_day / 1e6, "%.2f") << " " << fit.currency << "/day";
  std::cout << "\n";
}

void print_run(const control::RunView& run, bool current) {
  std::cout << (current ? "* " : "  ") << run.run << "  " << run.link << "\n";
  if (run.catalog) print_catalog(*run.catalog);
  if (run.fit) print_fit(*run.fit);
  if (!run.error.empty()) std::cout << "    error: " << run.error << "\n";
}

void print_report(const control::RunsReport& report, bool json) {
  if (json) {
    std::cout << report.to_json().dump(2) << "\n";
    return;
  }
  if (report.runs.empty()) std::cout << "no runs: add one with tessera-node runs add LINK\n";
  for (const auto& run : report.runs) print_run(run, report.current && *report.current == run.run);
  std::cout << "now: " << report.activity << "\n";
}

control::ControlClient running_node(const GlobalOptions& global) {
  const auto endpoint = control::read_control_file(global.resolved_data_dir() / control::kControlFileName);
  return control::ControlClient(endpoint.port, endpoint.token);
}

struct ShowSettings {
  std::string link;
  std::string device = "cpu";
  bool json = false;
};

// The fit with no node running: the catalog from the hub, the memory limit from settings.json.
void show(const ShowSettings& s, const GlobalOptions& global) {
  node::CatalogCache catalogs;
  const auto answer = catalogs.entries({s.link}).front();
  control::RunView view{s.link, protocol::parse_run_link(s.link).run_id, answer.entry, std::nullopt, answer.error};
  if (answer.entry) {
    const auto data_dir = global.resolved_data_dir();
    std::uint64_t limit = 0;
    if (const auto file = data_dir / "settings.json"; std::filesystem::exists(file))
      limit = control::NodeSettings::from_json(nlohmann::json::parse(wallet::read_file_text(file, 1 << 20))).memory_limit_mib
              << 20;
    node::DoctorOptions doctor;
    doctor.data_dir = data_dir;
    doctor.device = s.device;
    view.fit = node::estimate_fit(protocol::run_catalog_entry_from_json(*answer.entry),
                                  node::machine_capacity(node::run_doctor(doctor), limit));
  }
  if (s.json) std::cout << view.to_json().dump(2) << "\n";
  else print_run(view, false);
  if (!answer.entry) throw std::runtime_error(answer.error);
}

}  // namespace

void add_runs_command(CLI::App& app, const GlobalOptions& global) {
  auto json = std::make_shared<bool>(false);
  auto* runs = app.add_subcommand("runs", "The runs this node knows: their fit, and joining, leaving or switching "
                                          "(through the node running in --data-dir)");
  runs->add_flag("--json", *json, "Print the control API's JSON");
  runs->require_subcommand(0, 1);
  runs->fallthrough();  // --json after the subcommand too
  const auto over_api = [&global, json](auto call) {
    return [&global, json, call] {
      auto client = running_node(global);
      print_report(call(client), *json);
    };
  };
  runs->callback([runs, over_api] {
    if (runs->get_subcommands().empty()) over_api([](control::ControlClient& c) { return c.runs(); })();
  });
  runs->add_subcommand("list", "Each run with its catalog entry and this machine's fit (the default)")
      ->callback(over_api([](control::ControlClient& c) { return c.runs(); }));
  auto link = std::make_shared<std::string>();
  auto* add = runs->add_subcommand("add", "Add a run by its link, once its hub's manifest verifies under it");
  add->add_option("LINK", *link, "tessera://host:port/<run>#<publisher key>")->required();
  add->callback(over_api([link](control::ControlClient& c) { return c.add_run(*link); }));
  auto run = std::make_shared<std::string>();
  auto* remove = runs->add_subcommand("remove", "Remove a run from the list (leave it first)");
  remove->add_option("RUN", *run, "The run id")->required();
  remove->callback(over_api([run](control::ControlClient& c) { return c.remove_run(*run); }));
  for (const auto* name : {"join", "switch"}) {
    auto* join = runs->add_subcommand(name, std::string(name) == "join"
                                                ? "Join a run of the list (leaving the current one first)"
                                                : "Leave the current run and join this one, without restarting the node");
    join->add_option("RUN", *run, "The run id")->required();
    join->callback(over_api([run](control::ControlClient& c) { return c.join_run(*run); }));
  }
  runs->add_subcommand("leave", "Leave the current run: the node stays up, idle")
      ->callback(over_api([](control::ControlClient& c) { return c.leave_run(); }));
  auto settings = std::make_shared<ShowSettings>();
  auto* show_command =
      runs->add_subcommand("show", "A run's catalog entry and this machine's fit, without a running node (runs doctor)");
  show_command->add_option("LINK", settings->link, "tessera://host:port/<run>#<publisher key>")->required();
  show_command->add_option("--device", settings->device, "The device to measure: cpu, cuda or cuda:N")->capture_default_str();
  show_command->callback([settings, json, &global] {
    settings->json = *json;
    show(*settings, global);
  });
}

}  // namespace tessera::cli
