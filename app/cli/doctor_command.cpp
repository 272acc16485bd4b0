// `tessera-node doctor [--json] [--device D] [--seconds S]`.
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "core/node/doctor.h"

namespace tessera::cli {

void add_doctor_command(CLI::App& app, const GlobalOptions& global) {
  struct Settings {
    node::DoctorOptions options;
    bool json = false;
  };
  auto settings = std::make_shared<Settings>();
  auto* doctor = app.add_subcommand("doctor", "Check this machine before contributing: hardware, "
                                              "libtorch, GPUs, BLAS and a measured matmul rate");
  doctor->add_flag("--json", settings->json, "Print one JSON object instead of text");
  doctor->add_option("--device", settings->options.device, "Device to measure: auto, cpu, cuda or cuda:N")
      ->capture_default_str();
  doctor->add_option("--seconds", settings->options.matmul_seconds, "How long to measure the matmul rate")
      ->check(CLI::Range(0.05, 60.0))
      ->capture_default_str();
  doctor->callback([settings, &global] {
    settings->options.data_dir = global.resolved_data_dir();
    if (!settings->json) std::cerr << "Measuring this machine (about " << settings->options.matmul_seconds << " s)...\n";
    const auto report = node::run_doctor(settings->options);
    if (settings->json)
      std::cout << node::to_json(report).dump(2) << "\n";
    else
      std::cout << node::to_text(report);
  });
}

}  // namespace tessera::cli
