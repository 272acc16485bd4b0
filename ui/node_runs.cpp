// NodeRuns from the control API's JSON (see node_runs.h).
#include "ui/node_runs.h"

#include <stdexcept>

namespace tessera::ui {
namespace {

[[noreturn]] void refuse(const std::string& where, const char* key, const char* why) {
  throw std::runtime_error("the node's runs list: '" + where + key + "' " + why);
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
  if constexpr (std::is_same_v<T, std::string>) {
    if (field.size() > kMaxText) refuse(where, key, "is too long");
  }
}

template <typename T>
void read(const nlohmann::json& json, const std::string& where, const char* key, std::optional<T>& field) {
  const auto found = json.find(key);
  if (found == json.end() || found->is_null()) return;
  T value{};
  read(json, where, key, value);
  field = value;
}

const nlohmann::json* object_at(const nlohmann::json& json, const std::string& where, const char* key) {
  const auto found = json.find(key);
  if (found == json.end() || found->is_null()) return nullptr;
  if (!found->is_object()) refuse(where, key, "is not an object");
  return &*found;
}

RunCatalogInfo catalog_from_json(const nlohmann::json& json, const std::string& where) {
  RunCatalogInfo c;
  read(json, where, "run", c.run);
  read(json, where, "link", c.link);
  read(json, where, "retired", c.retired);
  if (const auto* model = object_at(json, where, "model")) {
    const std::string inner = where + "model.";
    read(*model, inner, "layers", c.layers);
    read(*model, inner, "width", c.width);
    read(*model, inner, "context", c.context);
  }
  read(json, where, "parameters", c.parameters);
  read(json, where, "codec", c.codec);
  read(json, where, "stages", c.stages);
  read(json, where, "peers_per_stage", c.peers_per_stage);
  if (c.peers_per_stage.size() > kMaxStages || c.stages < 0 || c.stages > static_cast<int>(kMaxStages))
    refuse(where, "stages", "is out of range");
  read(json, where, "steps", c.steps);
  read(json, where, "loss", c.loss);
  read(json, where, "price_per_1k_tokens", c.price_per_1k_tokens);
  read(json, where, "currency", c.currency);
  read(json, where, "last_epoch_revenue", c.last_epoch_revenue);
  return c;
}

RunFit fit_from_json(const nlohmann::json& json, const std::string& where) {
  RunFit f;
  read(json, where, "fits", f.fits);
  read(json, where, "stage", f.stage);
  read(json, where, "memory_needed_bytes", f.memory_needed_bytes);
  read(json, where, "memory_available_bytes", f.memory_available_bytes);
  read(json, where, "device", f.device);
  read(json, where, "tokens_per_s", f.tokens_per_s);
  read(json, where, "units_per_day", f.units_per_day);
  read(json, where, "revenue_per_day", f.revenue_per_day);
  read(json, where, "reason", f.reason);
  return f;
}

RunEntry entry_from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) throw std::runtime_error("the node's runs list: '" + where + "' is not an object");
  RunEntry e;
  read(json, where, "link", e.link);
  read(json, where, "run", e.run);
  read(json, where, "error", e.error);
  if (const auto* catalog = object_at(json, where, "catalog")) e.catalog = catalog_from_json(*catalog, where + "catalog.");
  if (const auto* fit = object_at(json, where, "fit")) e.fit = fit_from_json(*fit, where + "fit.");
  return e;
}

}  // namespace

const RunEntry* NodeRuns::find(const std::string& run) const {
  for (const auto& entry : runs)
    if (entry.run == run) return &entry;
  return nullptr;
}

NodeRuns node_runs_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::runtime_error("the node's runs list is not a JSON object");
  NodeRuns n;
  read(json, "", "current", n.current);
  read(json, "", "activity", n.activity);
  const auto runs = json.find("runs");
  if (runs == json.end() || runs->is_null()) return n;
  if (!runs->is_array()) refuse("", "runs", "is not a list");
  if (runs->size() > kMaxRuns) refuse("", "runs", "has too many entries");
  for (std::size_t i = 0; i < runs->size(); ++i)
    n.runs.push_back(entry_from_json((*runs)[i], "runs[" + std::to_string(i) + "]."));
  return n;
}

}  // namespace tessera::ui
