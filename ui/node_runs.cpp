// NodeRuns from the node's runs report (see node_runs.h).
#include "ui/node_runs.h"

#include <stdexcept>
#include <type_traits>

namespace tessera::ui {
namespace {

[[noreturn]] void refuse(const std::string& where, const char* key, const char* why) {
  throw std::runtime_error("the run's catalog entry: '" + where + key + "' " + why);
}

void check_text(const std::string& text, const std::string& where, const char* key) {
  if (text.size() > kMaxText) refuse(where, key, "is too long");
}

// Reads `key` into `field` when present and not null.
template <typename T>
void read(const nlohmann::json& json, const std::string& where, const char* key, T& field) {
  const auto found = json.find(key);
  if (found == json.end() || found->is_null()) return;
  try {
    field = found->get<T>();
  } catch (const nlohmann::json::exception&) {
    refuse(where, key, "has the wrong type");
  }
  if constexpr (std::is_same_v<T, std::string>) check_text(field, where, key);
}

template <typename T>
void read(const nlohmann::json& json, const std::string& where, const char* key, std::optional<T>& field) {
  const auto found = json.find(key);
  if (found == json.end() || found->is_null()) return;
  T value{};
  read(json, where, key, value);
  field = value;
}

}  // namespace

RunCatalogInfo run_catalog_info(const nlohmann::json& json) {
  if (!json.is_object()) throw std::runtime_error("the run's catalog entry is not an object");
  RunCatalogInfo c;
  read(json, "", "run", c.run);
  read(json, "", "link", c.link);
  read(json, "", "retired", c.retired);
  if (const auto model = json.find("model"); model != json.end() && !model->is_null()) {
    if (!model->is_object()) refuse("", "model", "is not an object");
    read(*model, "model.", "layers", c.layers);
    read(*model, "model.", "width", c.width);
    read(*model, "model.", "context", c.context);
  }
  read(json, "", "parameters", c.parameters);
  read(json, "", "codec", c.codec);
  read(json, "", "stages", c.stages);
  if (const auto peers = json.find("peers_per_stage"); peers != json.end() && peers->is_array() && peers->size() > kMaxStages)
    refuse("", "peers_per_stage", "is too long");
  read(json, "", "peers_per_stage", c.peers_per_stage);
  if (c.stages < 0 || c.stages > static_cast<int>(kMaxStages)) refuse("", "stages", "is out of range");
  read(json, "", "steps", c.steps);
  read(json, "", "loss", c.loss);
  read(json, "", "price_per_1k_tokens", c.price_per_1k_tokens);
  read(json, "", "currency", c.currency);
  read(json, "", "last_epoch_revenue", c.last_epoch_revenue);
  return c;
}

const RunEntry* NodeRuns::find(const std::string& run) const {
  for (const auto& entry : runs)
    if (entry.run == run) return &entry;
  return nullptr;
}

NodeRuns node_runs_from_report(const control::RunsReport& report) {
  if (report.runs.size() > kMaxRuns) throw std::runtime_error("the node lists more runs than the app shows");
  NodeRuns n;
  n.current = report.current;
  n.activity = report.activity;
  check_text(n.activity, "", "activity");
  for (const auto& view : report.runs) {
    RunEntry entry;
    entry.link = view.link.substr(0, kMaxText);
    entry.run = view.run.substr(0, kMaxText);
    entry.fit = view.fit;
    entry.error = view.error.substr(0, kMaxText);
    if (entry.fit) {
      entry.fit->why = entry.fit->why.substr(0, kMaxText);
      entry.fit->memory_of = entry.fit->memory_of.substr(0, kMaxText);
    }
    try {
      if (view.catalog) entry.catalog = run_catalog_info(*view.catalog);
    } catch (const std::runtime_error& error) {
      if (entry.error.empty()) entry.error = error.what();
    }
    n.runs.push_back(std::move(entry));
  }
  return n;
}

NodeRuns node_runs_from_json(const nlohmann::json& json) {
  return node_runs_from_report(control::RunsReport::from_json(json));
}

}  // namespace tessera::ui
