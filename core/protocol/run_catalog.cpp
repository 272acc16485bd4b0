// The run catalog's JSON (see run_catalog.h).
#include "core/protocol/run_catalog.h"

#include <cmath>
#include <stdexcept>

#include "core/protocol/run_paths.h"
#include "core/sys/bounded_json.h"
#include "core/sys/json_number.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("run catalog: " + what); }

const json& field(const json& object, const char* name) {
  if (!object.is_object() || !object.contains(name)) bad(std::string("missing '") + name + "'");
  return object.at(name);
}

template <typename T>
T integer(const json& object, const char* name) {
  return sys::json_integer<T>(field(object, name), std::string("run catalog: '") + name + "'");
}

double number(const json& value, const char* name) {
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0)
    bad(std::string("'") + name + "' must be a number, at least 0");
  return value.get<double>();
}

std::string text(const json& value, const char* name) {
  if (!value.is_string()) bad(std::string("'") + name + "' must be a string");
  auto out = value.get<std::string>();
  if (out.size() > kMaxCatalogString) bad(std::string("'") + name + "' is too long");
  return out;
}

bool flag(const json& object, const char* name) {
  const auto& value = field(object, name);
  if (!value.is_boolean()) bad(std::string("'") + name + "' must be true or false");
  return value.get<bool>();
}

const json& array(const json& object, const char* name, std::size_t max) {
  const auto& value = field(object, name);
  if (!value.is_array() || value.size() > max)
    bad(std::string("'") + name + "' must be a list of at most " + std::to_string(max));
  return value;
}

std::vector<std::uint64_t> per_stage(const json& object, const char* name, int stages) {
  const auto& list = array(object, name, kMaxCatalogStages);
  if (list.size() != static_cast<std::size_t>(stages)) bad(std::string("'") + name + "' must have one entry per stage");
  std::vector<std::uint64_t> out;
  for (const auto& item : list) out.push_back(sys::json_integer<std::uint64_t>(item, std::string("run catalog: '") + name + "'"));
  return out;
}

CatalogStageNeeds stage_needs_from_json(const json& value) {
  CatalogStageNeeds needs;
  needs.stage = integer<int>(value, "stage");
  needs.memory_bytes = integer<std::uint64_t>(value, "memory_bytes");
  needs.parameters = integer<std::uint64_t>(value, "parameters");
  needs.flops_per_token = number(field(value, "flops_per_token"), "flops_per_token");
  needs.bytes_per_token = number(field(value, "bytes_per_token"), "bytes_per_token");
  return needs;
}

CatalogModel model_from_json(const json& value) {
  CatalogModel model;
  model.layers = integer<int>(value, "layers");
  model.width = integer<int>(value, "width");
  model.heads = integer<int>(value, "heads");
  model.context = integer<int>(value, "context");
  model.vocab = integer<int>(value, "vocab");
  model.subspace_rank = integer<int>(value, "subspace_rank");
  if (model.layers < 1 || model.width < 1 || model.heads < 1 || model.context < 1 || model.vocab < 1 ||
      model.subspace_rank < 0)
    bad("the model's sizes must be positive");
  return model;
}

}  // namespace

json to_json(const CatalogStageNeeds& needs) {
  return {{"stage", needs.stage}, {"memory_bytes", needs.memory_bytes}, {"parameters", needs.parameters},
          {"flops_per_token", needs.flops_per_token}, {"bytes_per_token", needs.bytes_per_token}};
}

json to_json(const RunCatalogEntry& entry) {
  json needs = json::array();
  for (const auto& stage : entry.stage_needs) needs.push_back(to_json(stage));
  const auto& m = entry.model;
  return {{"run", entry.run},
          {"url", entry.url},
          {"link", entry.link},
          {"publisher", entry.publisher},
          {"revision", entry.revision},
          {"retired", entry.retired},
          {"model",
           {{"layers", m.layers}, {"width", m.width}, {"heads", m.heads}, {"context", m.context}, {"vocab", m.vocab},
            {"subspace_rank", m.subspace_rank}}},
          {"parameters", entry.parameters},
          {"codec", entry.codec},
          {"dataset", entry.dataset},
          {"stages", entry.stages},
          {"peers_per_stage", entry.peers_per_stage},
          {"ready_per_stage", entry.ready_per_stage},
          {"steps", entry.steps},
          {"loss", entry.loss ? json(*entry.loss) : json(nullptr)},
          {"tokens_per_step", entry.tokens_per_step},
          {"price_per_1k_tokens", entry.price_per_1k_tokens},
          {"currency", entry.currency},
          {"last_epoch", entry.last_epoch},
          {"last_epoch_revenue", entry.last_epoch_revenue},
          {"total_units", entry.total_units},
          {"epoch_seconds", entry.epoch_seconds},
          {"data_units_per_1k_tokens", entry.data_units_per_1k_tokens},
          {"stage_needs", needs}};
}

json to_json(const RunCatalog& catalog) {
  json runs = json::array();
  for (const auto& entry : catalog.runs) runs.push_back(to_json(entry));
  return {{"runs", runs}};
}

RunCatalogEntry run_catalog_entry_from_json(const json& value) {
  if (!value.is_object()) bad("a run is not an object");
  RunCatalogEntry entry;
  entry.run = text(field(value, "run"), "run");
  if (!valid_run_path_id(entry.run)) bad("'run' must be 1 to 64 of A-Z a-z 0-9 . _ -");
  entry.url = text(field(value, "url"), "url");
  entry.link = text(field(value, "link"), "link");
  entry.publisher = text(field(value, "publisher"), "publisher");
  const auto key = wallet::base58_decode(entry.publisher);
  if (!key || key->size() != 32) bad("'publisher' is not a base58 public key");
  entry.revision = integer<std::uint64_t>(value, "revision");
  entry.retired = flag(value, "retired");
  entry.model = model_from_json(field(value, "model"));
  entry.parameters = integer<std::uint64_t>(value, "parameters");
  entry.codec = text(field(value, "codec"), "codec");
  for (const auto& item : array(value, "dataset", kMaxCatalogDataset)) entry.dataset.push_back(text(item, "dataset"));
  entry.stages = integer<int>(value, "stages");
  if (entry.stages < 1 || static_cast<std::size_t>(entry.stages) > kMaxCatalogStages)
    bad("'stages' must be from 1 to " + std::to_string(kMaxCatalogStages));
  entry.peers_per_stage = per_stage(value, "peers_per_stage", entry.stages);
  entry.ready_per_stage = per_stage(value, "ready_per_stage", entry.stages);
  entry.steps = integer<std::uint64_t>(value, "steps");
  const auto& loss = field(value, "loss");
  if (!loss.is_null()) {
    if (!loss.is_number() || !std::isfinite(loss.get<double>())) bad("'loss' must be a number or null");
    entry.loss = loss.get<double>();
  }
  entry.tokens_per_step = integer<std::uint64_t>(value, "tokens_per_step");
  entry.price_per_1k_tokens = integer<std::uint64_t>(value, "price_per_1k_tokens");
  entry.currency = text(field(value, "currency"), "currency");
  entry.last_epoch = integer<std::uint64_t>(value, "last_epoch");
  entry.last_epoch_revenue = integer<std::uint64_t>(value, "last_epoch_revenue");
  entry.total_units = integer<std::uint64_t>(value, "total_units");
  entry.epoch_seconds = integer<std::int64_t>(value, "epoch_seconds");
  entry.data_units_per_1k_tokens = integer<std::uint64_t>(value, "data_units_per_1k_tokens");
  const auto& needs = array(value, "stage_needs", kMaxCatalogStages);
  if (needs.size() != static_cast<std::size_t>(entry.stages)) bad("'stage_needs' must have one entry per stage");
  for (const auto& item : needs) {
    entry.stage_needs.push_back(stage_needs_from_json(item));
    const auto& added = entry.stage_needs.back();
    if (added.stage != static_cast<int>(entry.stage_needs.size()) - 1) bad("'stage_needs' must list the stages in order");
    if (!(added.flops_per_token > 0)) bad("'stage_needs' must give each stage's flops_per_token, more than 0");
  }
  return entry;
}

RunCatalog run_catalog_from_json(const json& value) {
  RunCatalog catalog;
  for (const auto& item : array(value, "runs", kMaxCatalogRuns)) catalog.runs.push_back(run_catalog_entry_from_json(item));
  return catalog;
}

RunCatalog parse_run_catalog(std::string_view text) {
  auto parsed = sys::parse_bounded_json(text, {kMaxCatalogBytes, 8});
  if (!parsed.value) bad("the reply is refused: " + parsed.error);
  return run_catalog_from_json(*parsed.value);
}

}  // namespace tessera::protocol
