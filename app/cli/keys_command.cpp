// `tessera-hub keys …` over the running hub's admin API, found through its access file (one run's
// keys: --run, else the default run's).
#include "app/cli/keys_command.h"

#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/global_options.h"
#include "app/cli/hub_admin_client.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/run_paths.h"

namespace tessera::cli {
namespace {

namespace api = protocol::hub_admin_api;

struct KeysOptions {
  std::string name;
  std::string balance = "0";
  std::int64_t id = 0;
  std::string amount;
  bool json = false;
  std::string run;  // empty: the hub's default run
  // Where the run's keys are: /runs/<run>/admin/keys… (run_paths.h), or the default run's.
  std::string path(const char* route) const { return run.empty() ? route : protocol::run_path_prefix(run) + route; }
};

std::string when(const std::optional<std::int64_t>& ms) {
  if (!ms) return "-";
  const std::time_t seconds = *ms / 1000;
  std::ostringstream out;
  out << std::put_time(std::gmtime(&seconds), "%Y-%m-%d %H:%M:%SZ");
  return out.str();
}

void print_table(const nlohmann::json& reply) {
  const auto currency = reply["currency"].get<std::string>();
  std::cout << std::left << std::setw(5) << "id" << std::setw(20) << "name" << std::right << std::setw(18)
            << "balance" << std::setw(16) << "reserved" << std::setw(18) << "spent" << "  " << std::left
            << std::setw(21) << "created" << "revoked" << "\n";
  for (const auto& item : reply["keys"]) {
    const auto key = protocol::api_key_info_from_json(item);
    std::cout << std::left << std::setw(5) << key.id << std::setw(20) << key.name << std::right << std::setw(18)
              << protocol::format_currency_amount(key.balance) << std::setw(16)
              << protocol::format_currency_amount(key.reserved) << std::setw(18)
              << protocol::format_currency_amount(key.spent) << "  " << std::left << std::setw(21)
              << when(key.created_ms) << when(key.revoked_ms) << "\n";
  }
  std::cout << "amounts in " << currency << std::endl;
}

void summarise(const protocol::ApiKeyInfo& key, const std::string& what) {
  std::cout << "key " << key.id << (key.name.empty() ? "" : " (" + key.name + ")") << " " << what << ": balance "
            << protocol::format_currency_amount(key.balance) << ", spent " << protocol::format_currency_amount(key.spent)
            << (key.revoked_ms ? ", revoked" : "") << std::endl;
}

void add_subcommands(CLI::App& keys, const GlobalOptions& global, std::shared_ptr<KeysOptions> o, bool& ran) {
  auto* add = keys.add_subcommand("add", "Create a key; it is printed once (stdout) and only its hash is kept");
  add->add_option("--name", o->name, "What the key is for (shown by list)");
  add->add_option("--balance", o->balance, "Starting balance in the run's currency (e.g. 5.25)")->capture_default_str();
  add->callback([&global, o, &ran] {
    ran = true;
    const auto reply = AdminClient(global).post(
        o->path(api::kKeys), {{"name", o->name}, {"balance", protocol::parse_currency_amount(o->balance)}});
    std::cout << reply["key"].get<std::string>() << std::endl;
    const auto key = protocol::api_key_info_from_json(reply["record"]);
    std::cerr << "API key " << key.id << " created with balance " << protocol::format_currency_amount(key.balance)
              << "; the key above is shown only this once: the hub keeps only its hash" << std::endl;
  });
  auto* list = keys.add_subcommand("list", "Every key: id, name, balance, reserved, spent, created, revoked");
  list->add_flag("--json", o->json, "Print the admin API's JSON");
  list->callback([&global, o, &ran] {
    ran = true;
    const auto reply = AdminClient(global).get(o->path(api::kKeys));
    if (o->json) std::cout << reply.dump(2) << std::endl;
    else print_table(reply);
  });
  auto* credit = keys.add_subcommand("credit", "Add to a key's balance");
  credit->add_option("id", o->id, "The key's id (from list)")->required();
  credit->add_option("amount", o->amount, "Amount in the run's currency (e.g. 10 or 0.5)")->required();
  credit->callback([&global, o, &ran] {
    ran = true;
    const nlohmann::json body{{"id", o->id}, {"amount", protocol::parse_currency_amount(o->amount)}};
    summarise(protocol::api_key_info_from_json(AdminClient(global).post(o->path(api::kCredit), body)), "credited");
  });
  auto* revoke = keys.add_subcommand("revoke", "Refuse a key from now on (its record and debits stay)");
  revoke->add_option("id", o->id, "The key's id (from list)")->required();
  revoke->callback([&global, o, &ran] {
    ran = true;
    summarise(protocol::api_key_info_from_json(AdminClient(global).post(o->path(api::kRevoke), {{"id", o->id}})), "revoked");
  });
}

}  // namespace

void add_keys_command(CLI::App& app, const GlobalOptions& global, bool& ran) {
  auto* keys = app.add_subcommand(
      "keys", "The gateway's API keys and balances, through the hub running on this --data-dir");
  keys->require_subcommand(1);
  auto options = std::make_shared<KeysOptions>();
  keys->add_option("--run", options->run, "The run whose keys these are (default: the hub's default run)");
  add_subcommands(*keys, global, options, ran);
}

}  // namespace tessera::cli
