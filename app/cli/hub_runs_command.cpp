// `tessera-hub runs …` over the running hub's admin API (see runs_command.h).
#include "app/cli/hub_runs_command.h"

#include <iomanip>
#include <iostream>
#include <memory>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/global_options.h"
#include "app/cli/hub_admin_client.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/manifest.h"
#include "core/wallet/secure_file.h"

namespace tessera::cli {
namespace {

namespace api = protocol::hub_admin_api;

struct RunsOptions {
  std::filesystem::path file;
  std::string run;
  bool json = false;
};

std::string where(const protocol::HubRunInfo& run) { return run.link.empty() ? run.url : run.link; }

void print_table(const nlohmann::json& reply) {
  std::cout << std::left << std::setw(24) << "run" << std::setw(10) << "revision" << std::setw(10) << "state"
            << "where" << "\n";
  for (const auto& item : reply.at("runs")) {
    const auto run = protocol::hub_run_info_from_json(item);
    const std::string state = run.retired_ms ? "retired" : run.is_default ? "default" : "serving";
    std::cout << std::left << std::setw(24) << run.run << std::setw(10) << run.revision << std::setw(10) << state
              << where(run) << "\n";
  }
  std::cout << std::flush;
}

// The manifest file as the hub will check it: a signed run manifest (tessera-hub init writes one).
nlohmann::json manifest_file(const std::filesystem::path& file) {
  auto document = nlohmann::json::parse(wallet::read_file_text(file, api::kRunsBodyLimit - 1024));
  const auto manifest = protocol::manifest_from_json(document);
  if (!protocol::verify_manifest(manifest, manifest.publisher_key))
    throw std::invalid_argument(file.string() + " is not signed by its publisher key: sign it first (tessera-hub init)");
  return document;
}

}  // namespace

void add_hub_runs_command(CLI::App& app, const GlobalOptions& global, bool& ran) {
  auto* runs = app.add_subcommand("runs", "The runs this hub serves, through the hub running on this --data-dir");
  runs->require_subcommand(1);
  auto o = std::make_shared<RunsOptions>();
  auto* add = runs->add_subcommand(
      "add", "Serve a run (a signed manifest), or update one to a higher revision from the same publisher");
  add->add_option("file", o->file, "The signed run manifest (JSON)")->required()->check(CLI::ExistingFile);
  add->callback([&global, o, &ran] {
    ran = true;
    const auto reply = AdminClient(global).post(api::kRuns, {{"manifest", manifest_file(o->file)}});
    const auto run = protocol::hub_run_info_from_json(reply.at("run"));
    std::cout << "run " << run.run << " " << reply.at("change").get<std::string>() << " (revision " << run.revision
              << "): " << where(run) << std::endl;
  });
  auto* list = runs->add_subcommand("list", "Every run: id, revision, serving, default or retired, its link or URL");
  list->add_flag("--json", o->json, "Print the admin API's JSON");
  list->callback([&global, o, &ran] {
    ran = true;
    const auto reply = AdminClient(global).get(api::kRuns);
    if (o->json) std::cout << reply.dump(2) << std::endl;
    else print_table(reply);
  });
  auto* retire = runs->add_subcommand(
      "retire", "Stop admitting nodes to a run (joins answer 410); its manifest and statements stay served");
  retire->add_option("run", o->run, "The run's id (from list)")->required();
  retire->callback([&global, o, &ran] {
    ran = true;
    const auto reply = AdminClient(global).post(api::kRetireRun, {{"run", o->run}});
    std::cout << "run " << protocol::hub_run_info_from_json(reply.at("run")).run << " retired" << std::endl;
  });
}

}  // namespace tessera::cli
