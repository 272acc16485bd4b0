// `tessera-node status [--json]`: what the running node in --data-dir says about itself, through
// its control API (control.json names the port and token).
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "core/control/control_api.h"
#include "core/control/control_file.h"

namespace tessera::cli {
namespace {

void print_status(const control::NodeStatus& s) {
  std::cout << "state: " << s.state << (s.reason.empty() ? "" : " (" + s.reason + ")") << "\n";
  if (!s.run.empty()) {
    char rates[96];
    std::snprintf(rates, sizeof rates, "%.2f steps/s, %.0f tokens/s", s.step_rate, s.tokens_per_s);
    std::cout << "run: " << s.run << ", stage " << s.stage + 1 << " of " << s.stages << ", step " << s.step << ", "
              << rates << "\n";
  }
  if (!s.reachability.empty())
    std::cout << "reachable: " << s.reachability << (s.endpoint.empty() ? "" : " at " + s.endpoint)
              << (s.reachability_detail.empty() ? "" : " (" + s.reachability_detail + ")") << "\n";
  std::cout << "network: " << s.traffic.summary() << "\n";
}

}  // namespace

void add_status_command(CLI::App& app, const GlobalOptions& global) {
  auto json = std::make_shared<bool>(false);
  auto* command = app.add_subcommand("status", "What the node running in --data-dir is doing (its control API)");
  command->add_flag("--json", *json, "Print the control API's status JSON");
  command->callback([json, &global] {
    const auto endpoint = control::read_control_file(global.resolved_data_dir() / control::kControlFileName);
    const auto status = control::ControlClient(endpoint.port, endpoint.token).status();
    if (*json) std::cout << status.to_json().dump(2) << "\n";
    else print_status(status);
  });
}

}  // namespace tessera::cli
