// Manifest JSON, validation and signing (domain tessera/manifest/v1 over the canonical text).
#include "core/protocol/manifest.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

#include "core/model/codec.h"
#include "core/wallet/encoding.h"
#include "core/wallet/slip10.h"

namespace tessera::protocol {
namespace {

using json = nlohmann::json;

json body(const RunManifest& m) {
  const auto& model = m.model;
  const auto& train = m.train;
  json dataset = json::array();
  for (const auto& shard : m.dataset) dataset.push_back(shard);
  json out{{"version", 1},
          {"run", m.run_id},
          {"model",
           {{"layers", model.layers}, {"width", model.width}, {"heads", model.heads}, {"context", model.context},
            {"vocab", model.vocab}, {"dropout", model.dropout}, {"seed", model.seed},
            {"subspace_rank", model.subspace_rank}}},
          {"train",
           {{"lr", train.lr}, {"min_lr", train.min_lr}, {"warmup_steps", train.warmup_steps},
            {"total_steps", train.total_steps}, {"weight_decay", train.weight_decay}, {"beta1", train.beta1},
            {"beta2", train.beta2}, {"eps", train.eps}, {"clip_norm", train.clip_norm},
            {"micro_batch_size", train.micro_batch_size}, {"micro_batches", train.micro_batches}}},
          {"stages", m.stages},
          {"codec", m.codec},
          {"dataset", dataset},
          {"epoch_seconds", m.epoch_seconds},
          {"price_per_1k_tokens", m.price_per_1k_tokens},
          {"currency", m.currency},
          {"hub_key", wallet::to_hex(m.hub_key)},
          {"publisher_key", wallet::to_hex(m.publisher_key)}};
  if (m.averaging.scheme != model::AveragingConfig::Scheme::exact)
    out["averaging"] = {{"scheme", model::averaging_name(m.averaging.scheme)}, {"rank", m.averaging.rank}};
  if (m.revision != 0) out["revision"] = m.revision;
  if (!m.shards.empty()) {
    json shards = json::array();
    for (const auto& shard : m.shards)
      shards.push_back({{"hash", shard.hash}, {"bytes", shard.bytes}, {"contributor", shard.contributor}});
    out["shards"] = shards;
  }
  if (m.data_units_per_1k_tokens != 0) out["data_units_per_1k_tokens"] = m.data_units_per_1k_tokens;
  return out;
}

const json& member(const json& object, const char* name, const std::string& where) {
  if (!object.is_object() || !object.contains(name))
    throw std::invalid_argument("manifest: missing " + where + name);
  return object.at(name);
}

template <typename T>
T get(const json& object, const char* name, const std::string& where = "") {
  const auto& value = member(object, name, where);
  try {
    if constexpr (std::is_integral_v<T>) {
      if (!value.is_number_integer()) throw std::invalid_argument("");
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!value.is_number()) throw std::invalid_argument("");
    } else {
      if (!value.is_string()) throw std::invalid_argument("");
    }
    return value.get<T>();
  } catch (const std::exception&) {
    throw std::invalid_argument("manifest: " + where + name + " has the wrong type");
  }
}

template <std::size_t N>
std::array<std::uint8_t, N> hex(const json& object, const char* name) {
  const auto bytes = wallet::fixed_from_hex<N>(get<std::string>(object, name));
  if (!bytes) throw std::invalid_argument(std::string("manifest: ") + name + " is not " + std::to_string(N) + " bytes of hex");
  return *bytes;
}

model::AveragingConfig averaging_from(const json& document) {
  model::AveragingConfig config;
  if (!document.contains("averaging")) return config;
  const auto& averaging = document.at("averaging");
  config.scheme = model::parse_averaging(get<std::string>(averaging, "scheme", "averaging."));
  config.rank = get<int>(averaging, "rank", "averaging.");
  if (config.rank < 1 || config.rank > model::kMaxAveragingRank)
    throw std::invalid_argument("manifest: averaging.rank must be between 1 and " + std::to_string(model::kMaxAveragingRank));
  return config;
}

bool non_negative_integer(const json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

// An optional non-negative integer that defaults to 0 (absent from older manifests).
std::uint64_t optional_count(const json& object, const char* name, const std::string& where = "") {
  if (!object.contains(name)) return 0;
  const auto& value = object.at(name);
  if (!non_negative_integer(value)) throw std::invalid_argument("manifest: " + where + name + " must be a non-negative integer");
  return value.get<std::uint64_t>();
}

bool lowercase_hex(const std::string& text, std::size_t digits) {
  if (text.size() != digits) return false;
  for (const char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

ManifestShard shard_from(const json& entry, const std::string& where) {
  if (!entry.is_object()) throw std::invalid_argument("manifest: " + where + " must be an object");
  ManifestShard shard;
  shard.hash = get<std::string>(entry, "hash", where + ".");
  if (!lowercase_hex(shard.hash, 64))
    throw std::invalid_argument("manifest: " + where + ".hash must be 64 lowercase hex digits (BLAKE2b-256)");
  const auto& bytes = member(entry, "bytes", where + ".");
  if (!non_negative_integer(bytes) || bytes.get<std::uint64_t>() == 0 || bytes.get<std::uint64_t>() > kMaxShardBytes)
    throw std::invalid_argument("manifest: " + where + ".bytes must be between 1 and " + std::to_string(kMaxShardBytes));
  shard.bytes = bytes.get<std::uint64_t>();
  shard.contributor = get<std::string>(entry, "contributor", where + ".");
  if (!shard.contributor.empty()) {
    bool valid = shard.contributor.size() <= 64;
    try {
      if (valid) valid = wallet::address_of(wallet::parse_address(shard.contributor)) == shard.contributor;
    } catch (const std::invalid_argument&) {
      valid = false;
    }
    if (!valid)
      throw std::invalid_argument("manifest: " + where + ".contributor must be an owner address (base58) or empty");
  }
  return shard;
}

// Shards are optional; when present the dataset names exactly their hashes, in order.
std::vector<ManifestShard> shards_from(const json& document, const std::vector<std::string>& dataset) {
  std::vector<ManifestShard> shards;
  if (!document.contains("shards")) return shards;
  const auto& list = document.at("shards");
  if (!list.is_array()) throw std::invalid_argument("manifest: shards must be an array");
  if (list.size() > kMaxShards)
    throw std::invalid_argument("manifest: shards has " + std::to_string(list.size()) + " entries, at most " +
                                std::to_string(kMaxShards) + " are allowed");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    shards.push_back(shard_from(list[i], "shards[" + std::to_string(i) + "]"));
    if (!seen.insert(shards.back().hash).second)
      throw std::invalid_argument("manifest: shards[" + std::to_string(i) + "].hash " + shards.back().hash +
                                  " appears twice");
  }
  const bool matches = dataset.size() == shards.size() &&
                       std::equal(shards.begin(), shards.end(), dataset.begin(),
                                  [](const ManifestShard& shard, const std::string& name) { return shard.hash == name; });
  if (!shards.empty() && !matches)
    throw std::invalid_argument("manifest: dataset must list the shards' hashes, in the shards' order");
  return shards;
}

}  // namespace

bool valid_run_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string canonical_text(const RunManifest& manifest) { return body(manifest).dump(); }

json to_json(const RunManifest& manifest) {
  auto out = body(manifest);
  out["signature"] = wallet::to_hex(manifest.signature);
  return out;
}

RunManifest manifest_from_json(const json& document) {
  if (!document.is_object()) throw std::invalid_argument("manifest: not a JSON object");
  if (get<int>(document, "version") != 1)
    throw std::invalid_argument("manifest: unsupported version (this build reads version 1): update Tessera");
  RunManifest m;
  m.run_id = get<std::string>(document, "run");
  if (!valid_run_id(m.run_id)) throw std::invalid_argument("manifest: run must be 1 to 64 of A-Z a-z 0-9 . _ -");
  const auto& model = member(document, "model", "");
  m.model.layers = get<int>(model, "layers", "model.");
  m.model.width = get<int>(model, "width", "model.");
  m.model.heads = get<int>(model, "heads", "model.");
  m.model.context = get<int>(model, "context", "model.");
  m.model.vocab = get<int>(model, "vocab", "model.");
  m.model.dropout = get<double>(model, "dropout", "model.");
  m.model.seed = get<std::uint64_t>(model, "seed", "model.");
  m.model.subspace_rank = get<int>(model, "subspace_rank", "model.");
  model::validate(m.model);
  const auto& train = member(document, "train", "");
  m.train.lr = get<double>(train, "lr", "train.");
  m.train.min_lr = get<double>(train, "min_lr", "train.");
  m.train.warmup_steps = get<int>(train, "warmup_steps", "train.");
  m.train.total_steps = get<int>(train, "total_steps", "train.");
  m.train.weight_decay = get<double>(train, "weight_decay", "train.");
  m.train.beta1 = get<double>(train, "beta1", "train.");
  m.train.beta2 = get<double>(train, "beta2", "train.");
  m.train.eps = get<double>(train, "eps", "train.");
  m.train.clip_norm = get<double>(train, "clip_norm", "train.");
  m.train.micro_batch_size = get<int>(train, "micro_batch_size", "train.");
  m.train.micro_batches = get<int>(train, "micro_batches", "train.");
  if (m.train.micro_batch_size < 1 || m.train.micro_batches < 1 || m.train.total_steps < 1 || !(m.train.lr > 0))
    throw std::invalid_argument("manifest: train needs lr > 0 and at least one step, micro-batch and sequence");
  m.stages = get<int>(document, "stages");
  if (m.stages < 1 || m.stages > m.model.layers)
    throw std::invalid_argument("manifest: stages must be between 1 and the model's layers (" +
                                std::to_string(m.model.layers) + ")");
  m.codec = get<std::string>(document, "codec");
  model::parse_codec(m.codec);  // throws, listing the valid names
  try {
    m.averaging = averaging_from(document);
  } catch (const std::invalid_argument& bad) {
    const std::string what = bad.what();
    throw std::invalid_argument(what.rfind("manifest:", 0) == 0 ? what : "manifest: " + what);
  }
  for (const auto& shard : member(document, "dataset", "")) {
    if (!shard.is_string()) throw std::invalid_argument("manifest: dataset entries are strings");
    const auto name = shard.get<std::string>();
    if (name != "arithmetic" && !wallet::fixed_from_hex<32>(name))
      throw std::invalid_argument("manifest: dataset entry '" + name + "' is neither arithmetic nor a 32-byte hash");
    m.dataset.push_back(name);
  }
  m.epoch_seconds = get<std::int64_t>(document, "epoch_seconds");
  if (m.epoch_seconds < 1) throw std::invalid_argument("manifest: epoch_seconds must be at least 1");
  m.price_per_1k_tokens = get<std::uint64_t>(document, "price_per_1k_tokens");
  m.currency = get<std::string>(document, "currency");
  m.hub_key = hex<32>(document, "hub_key");
  m.publisher_key = hex<32>(document, "publisher_key");
  m.signature = hex<64>(document, "signature");
  m.revision = optional_count(document, "revision");
  m.shards = shards_from(document, m.dataset);
  m.data_units_per_1k_tokens = optional_count(document, "data_units_per_1k_tokens");
  return m;
}

void sign_manifest(RunManifest& manifest, const wallet::KeyPair& publisher) {
  manifest.publisher_key = publisher.public_key();
  manifest.signature = publisher.sign(wallet::SignatureDomain::Manifest, wallet::as_bytes(canonical_text(manifest)));
}

bool verify_manifest(const RunManifest& manifest, const wallet::PublicKey& expected_publisher) {
  if (manifest.publisher_key != expected_publisher) return false;
  return wallet::verify(wallet::SignatureDomain::Manifest, wallet::as_bytes(canonical_text(manifest)),
                        manifest.signature, expected_publisher);
}

}  // namespace tessera::protocol
