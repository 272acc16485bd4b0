// NodeStatus ⇄ JSON (see node_status.h).
#include "core/control/node_status.h"

#include <stdexcept>

#include "core/control/json_fields.h"

namespace tessera::control {
namespace {

nlohmann::json or_null(const std::optional<double>& value) { return value ? nlohmann::json(*value) : nlohmann::json(); }

template <typename T>
void read(const nlohmann::json& json, const char* key, T& field) {
  read_json_field(json, key, field, "node status");
}

void read_verification(const nlohmann::json& json, client::NodeWork& field) {
  const auto found = json.find("verification");
  if (found == json.end() || found->is_null()) return;
  try {
    if (!found->is_object()) throw std::invalid_argument("not an object");
    if (const auto epochs = found->find("epochs"); epochs != found->end()) field = client::node_work_from_json(*epochs);
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error(std::string("node status: 'verification' is malformed: ") + error.what());
  }
}

void read_traffic(const nlohmann::json& json, net::TrafficReport& field) {
  const auto found = json.find("traffic");
  if (found == json.end() || found->is_null()) return;
  auto report = net::TrafficReport::from_json(*found);
  if (!report) throw std::runtime_error("node status: 'traffic' is malformed");
  field = *report;
}

}  // namespace

nlohmann::json NodeStatus::to_json() const {
  return {{"state", state},
          {"reason", reason},
          {"network", network},
          {"run", run},
          {"stage", stage},
          {"stages", stages},
          {"step", step},
          {"step_rate", step_rate},
          {"loss", or_null(loss)},
          {"tokens_per_s", tokens_per_s},
          {"device", device},
          {"temperature_c", or_null(temperature_c)},
          {"codec", codec},
          {"bytes_per_token", bytes_per_token},
          {"ledger", ledger},
          {"peers", peers},
          {"verification", {{"epochs", client::to_json(verification)}}},
          {"traffic", traffic.to_json()},
          {"reachability", {{"how", reachability}, {"endpoint", endpoint}, {"detail", reachability_detail}}}};
}

NodeStatus NodeStatus::from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::runtime_error("node status: not a JSON object");
  NodeStatus s;
  read(json, "state", s.state);
  read(json, "reason", s.reason);
  read(json, "network", s.network);
  read(json, "run", s.run);
  read(json, "stage", s.stage);
  read(json, "stages", s.stages);
  read(json, "step", s.step);
  read(json, "step_rate", s.step_rate);
  read(json, "loss", s.loss);
  read(json, "tokens_per_s", s.tokens_per_s);
  read(json, "device", s.device);
  read(json, "temperature_c", s.temperature_c);
  read(json, "codec", s.codec);
  read(json, "bytes_per_token", s.bytes_per_token);
  read(json, "ledger", s.ledger);
  read(json, "peers", s.peers);
  read_verification(json, s.verification);
  read_traffic(json, s.traffic);
  if (const auto found = json.find("reachability"); found != json.end() && found->is_object()) {
    read(*found, "how", s.reachability);
    read(*found, "endpoint", s.endpoint);
    read(*found, "detail", s.reachability_detail);
  }
  return s;
}

}  // namespace tessera::control
