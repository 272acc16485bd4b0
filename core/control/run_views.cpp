// RunFit, RunView and RunsReport ⇄ JSON (see run_views.h).
#include "core/control/run_views.h"

#include <stdexcept>

#include "core/control/json_fields.h"

namespace tessera::control {
namespace {

template <typename T>
void read(const nlohmann::json& json, const char* key, T& field) {
  read_json_field(json, key, field, "node runs");
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

void require_object(const nlohmann::json& json, const char* what) {
  if (!json.is_object()) throw std::runtime_error(std::string("node runs: ") + what + " is not an object");
}

}  // namespace

nlohmann::json RunFit::to_json() const {
  return {{"estimate", true},
          {"fits", fits},
          {"why", why},
          {"stage", or_null(stage)},
          {"stages", stages},
          {"memory_needed_bytes", memory_needed_bytes},
          {"memory_available_bytes", memory_available_bytes},
          {"memory_of", memory_of},
          {"tokens_per_s", or_null(tokens_per_s)},
          {"flops_per_token", flops_per_token},
          {"units_per_day", units_per_day},
          {"revenue_per_day", revenue_per_day},
          {"currency", currency},
          {"basis", basis}};
}

RunFit RunFit::from_json(const nlohmann::json& json) {
  require_object(json, "a fit");
  RunFit out;
  read(json, "fits", out.fits);
  read(json, "why", out.why);
  read(json, "stage", out.stage);
  read(json, "stages", out.stages);
  read(json, "memory_needed_bytes", out.memory_needed_bytes);
  read(json, "memory_available_bytes", out.memory_available_bytes);
  read(json, "memory_of", out.memory_of);
  read(json, "tokens_per_s", out.tokens_per_s);
  read(json, "flops_per_token", out.flops_per_token);
  read(json, "units_per_day", out.units_per_day);
  read(json, "revenue_per_day", out.revenue_per_day);
  read(json, "currency", out.currency);
  read(json, "basis", out.basis);
  return out;
}

nlohmann::json RunView::to_json() const {
  return {{"link", link},
          {"run", run},
          {"catalog", catalog ? *catalog : nlohmann::json()},
          {"fit", fit ? fit->to_json() : nlohmann::json()},
          {"error", error}};
}

RunView RunView::from_json(const nlohmann::json& json) {
  require_object(json, "a run");
  RunView out;
  read(json, "link", out.link);
  read(json, "run", out.run);
  if (const auto found = json.find("catalog"); found != json.end() && !found->is_null()) {
    require_object(*found, "'catalog'");
    out.catalog = *found;
  }
  if (const auto found = json.find("fit"); found != json.end() && !found->is_null()) out.fit = RunFit::from_json(*found);
  read(json, "error", out.error);
  return out;
}

nlohmann::json RunsReport::to_json() const {
  auto list = nlohmann::json::array();
  for (const auto& run : runs) list.push_back(run.to_json());
  return {{"current", or_null(current)}, {"activity", activity}, {"runs", std::move(list)}};
}

RunsReport RunsReport::from_json(const nlohmann::json& json) {
  require_object(json, "the runs reply");
  RunsReport out;
  read(json, "current", out.current);
  read(json, "activity", out.activity);
  if (const auto found = json.find("runs"); found != json.end() && !found->is_null()) {
    if (!found->is_array()) throw std::runtime_error("node runs: 'runs' is not an array");
    for (const auto& run : *found) out.runs.push_back(RunView::from_json(run));
  }
  return out;
}

}  // namespace tessera::control
