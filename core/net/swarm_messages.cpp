// Encode and decode of the swarm's messages: the only place their meta keys are spelled.
#include "core/net/swarm_messages.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/model/power_sgd.h"
#include "core/sys/json_number.h"
#include "core/wallet/encoding.h"

namespace tessera::net {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxRoute = 64;
constexpr std::uint64_t kMaxInputRows = 1 << 20;  // batch and sequence: far beyond any context, far from overflow

std::uint64_t required_u64(const json& meta, const char* name) {
  const auto found = meta.find(name);
  if (found == meta.end() || !found->is_number_unsigned()) throw std::invalid_argument(std::string("missing ") + name);
  return found->get<std::uint64_t>();
}

json hop_json(const Hop& hop) { return json::array({wallet::to_hex(hop.key), hop.endpoint}); }

Hop hop_from(const json& value) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_string() || !value[1].is_string())
    throw std::invalid_argument("malformed route entry");
  const auto key = wallet::fixed_from_hex<32>(value[0].get<std::string>());
  if (!key) throw std::invalid_argument("malformed route key");
  return {*key, value[1].get<std::string>()};
}

json hops_json(const std::vector<Hop>& hops) {
  auto out = json::array();
  for (const auto& hop : hops) out.push_back(hop_json(hop));
  return out;
}

std::vector<Hop> hops_from(const json& value) {
  if (!value.is_array() || value.size() > kMaxRoute) throw std::invalid_argument("malformed route");
  std::vector<Hop> out;
  for (const auto& item : value) out.push_back(hop_from(item));
  return out;
}

// Receipts as hex text: an absent list is empty; anything but an array of strings is refused.
std::vector<std::string> receipts_from(const json& meta) {
  const auto found = meta.find("receipts");
  if (found == meta.end()) return {};
  if (!found->is_array()) throw std::invalid_argument("malformed receipts");
  std::vector<std::string> out;
  for (const auto& item : *found) {
    if (!item.is_string()) throw std::invalid_argument("malformed receipt");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// StageInput's meta fields go into `meta`; its blob is activations ‖ token ids.
Envelope encode_input(const StageInput& input, std::vector<std::uint8_t> activations, json meta) {
  meta["batch"] = input.batch;
  meta["sequence"] = input.sequence;
  meta["route"] = hops_json(input.route);
  Envelope out{std::move(meta), std::move(activations)};
  const auto token_bytes = tokens_to_bytes(input.tokens);
  out.blob.insert(out.blob.end(), token_bytes.begin(), token_bytes.end());
  return out;
}

// Sizes are checked before anything is sliced; shapes, codec and values are the Stage's to check.
StageInput decode_input(const Envelope& envelope, const char* what) {
  StageInput input;
  const auto batch = required_u64(envelope.meta, "batch"), sequence = required_u64(envelope.meta, "sequence");
  if (batch > kMaxInputRows || sequence > kMaxInputRows)
    throw std::invalid_argument(std::string(what) + " batch or sequence is out of range");
  input.batch = static_cast<int>(batch);
  input.sequence = static_cast<int>(sequence);
  const auto token_count = static_cast<std::size_t>(input.batch) * static_cast<std::size_t>(input.sequence + 1);
  if (input.batch < 1 || input.sequence < 1 || token_count * 4 > envelope.blob.size())
    throw std::invalid_argument(std::string(what) + " payload is smaller than its token ids");
  const auto activation_bytes = envelope.blob.size() - token_count * 4;
  input.tokens = tokens_from_bytes(std::span(envelope.blob).subspan(activation_bytes));
  input.activations.assign(envelope.blob.begin(), envelope.blob.begin() + static_cast<std::ptrdiff_t>(activation_bytes));
  input.route = hops_from(envelope.meta.value("route", json::array()));
  return input;
}

std::vector<float> floats_from(std::span<const std::uint8_t> bytes, const char* what) {
  auto values = bytes_to_floats(bytes);
  if (!values) throw std::invalid_argument(std::string(what) + " is not a float vector");
  return std::move(*values);
}

}  // namespace

std::vector<std::uint8_t> tokens_to_bytes(std::span<const std::int32_t> tokens) {
  std::vector<std::uint8_t> out(tokens.size() * 4);
  for (std::size_t i = 0; i < tokens.size(); ++i)
    for (int b = 0; b < 4; ++b)
      out[i * 4 + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(static_cast<std::uint32_t>(tokens[i]) >> (8 * b));
  return out;
}

std::vector<std::int32_t> tokens_from_bytes(std::span<const std::uint8_t> bytes) {
  std::vector<std::int32_t> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= static_cast<std::uint32_t>(bytes[i * 4 + static_cast<std::size_t>(b)]) << (8 * b);
    out[i] = static_cast<std::int32_t>(v);
  }
  return out;
}

namespace {

json forward_meta(const ForwardRequest& request) {
  json meta{{"attempt", request.attempt}, {"from", wallet::to_hex(request.from)}, {"ticket", request.ticket}};
  if (request.queue > 0) meta["queue"] = request.queue;
  return meta;
}

// An optional text field: absent reads as empty; anything but a string is refused.
std::string text_field(const json& meta, const char* name) {
  const auto found = meta.find(name);
  if (found == meta.end()) return {};
  if (!found->is_string()) throw std::invalid_argument(std::string("malformed ") + name);
  return found->get<std::string>();
}

}  // namespace

Envelope ForwardRequest::encode() const& { return encode_input(input, input.activations, forward_meta(*this)); }

Envelope ForwardRequest::encode() && {
  auto meta = forward_meta(*this);
  return encode_input(input, std::move(input.activations), std::move(meta));
}

ForwardRequest ForwardRequest::decode_head(const Envelope& envelope) {
  ForwardRequest out;
  out.attempt = required_u64(envelope.meta, "attempt");
  const auto from = wallet::fixed_from_hex<32>(envelope.meta.value("from", std::string()));
  if (!from) throw std::invalid_argument("forward without a sender key");
  out.from = *from;
  out.ticket = text_field(envelope.meta, "ticket");
  const auto queue = sys::json_integer_or<std::int64_t>(envelope.meta, "queue", 0);
  if (queue < 0 || queue > 1'000'000) throw std::invalid_argument("queue out of range");
  out.queue = static_cast<int>(queue);
  const auto batch = required_u64(envelope.meta, "batch"), sequence = required_u64(envelope.meta, "sequence");
  if (batch > kMaxInputRows || sequence > kMaxInputRows) throw std::invalid_argument("batch or sequence is out of range");
  out.input.batch = static_cast<int>(batch);
  out.input.sequence = static_cast<int>(sequence);
  out.input.route = hops_from(envelope.meta.value("route", json::array()));
  return out;
}

ForwardRequest ForwardRequest::decode(const Envelope& envelope) {
  auto out = decode_head(envelope);
  out.input = decode_input(envelope, "forward");
  return out;
}

Envelope BackwardReply::encode() const {
  json meta{{"attempt", attempt}, {"loss", loss}, {"forward_bytes", forward_bytes}};
  if (!receipts.empty()) meta["receipts"] = receipts;
  if (receipt) meta["receipt"] = *receipt;
  return {std::move(meta), gradient};
}

BackwardReply BackwardReply::decode(const Envelope& envelope) {
  BackwardReply out;
  out.attempt = sys::json_integer_or<std::uint64_t>(envelope.meta, "attempt", 0);
  const auto loss = envelope.meta.find("loss");
  out.loss = loss != envelope.meta.end() && loss->is_null() ? std::nan("") : envelope.meta.value("loss", 0.0);
  out.forward_bytes = envelope.meta.value("forward_bytes", 0.0);
  if (envelope.meta.contains("receipt")) out.receipt = envelope.meta.value("receipt", std::string());
  out.receipts = receipts_from(envelope.meta);
  out.gradient = envelope.blob;
  return out;
}

Envelope InferRequest::encode() const {
  json meta{{"ticket", ticket}};
  if (!sequences.empty()) {
    auto list = json::array();
    for (const auto& s : sequences) list.push_back(json::array({s.session, s.start, s.length, s.activation_bytes}));
    meta["sequences"] = std::move(list);
  }
  return encode_input(input, input.activations, std::move(meta));
}

InferRequest InferRequest::decode(const Envelope& envelope) {
  InferRequest out{text_field(envelope.meta, "ticket"), decode_input(envelope, "inference"), {}};
  const auto found = envelope.meta.find("sequences");
  if (found == envelope.meta.end()) return out;
  if (!found->is_array() || found->empty() || found->size() > kMaxInferSequences)
    throw std::invalid_argument("malformed inference sequences");
  std::uint64_t positions = 0, bytes = 0;
  for (const auto& item : *found) {
    if (!item.is_array() || item.size() != 4) throw std::invalid_argument("malformed inference sequence");
    InferSequence s{sys::json_integer<std::uint64_t>(item[0], "session"),
                    sys::json_integer<std::uint32_t>(item[1], "start"),
                    sys::json_integer<std::uint32_t>(item[2], "length"),
                    sys::json_integer<std::uint64_t>(item[3], "activation bytes")};
    if (s.length == 0) throw std::invalid_argument("an inference sequence without tokens");
    if (s.activation_bytes > out.input.activations.size() - bytes)  // before adding: no wrap-around
      throw std::invalid_argument("the inference sequences claim more activations than the request carries");
    positions += s.length;
    bytes += s.activation_bytes;
    out.sequences.push_back(s);
  }
  if (out.input.batch != 1 || positions != static_cast<std::uint64_t>(out.input.sequence) ||
      bytes != out.input.activations.size())
    throw std::invalid_argument("the inference sequences do not add up to the request's tokens and activations");
  return out;
}

std::vector<std::uint8_t> InferRequest::layout_bytes() const {
  std::vector<std::uint8_t> out;
  const auto put = [&](std::uint64_t value, int bytes) {
    for (int b = 0; b < bytes; ++b) out.push_back(static_cast<std::uint8_t>(value >> (8 * b)));
  };
  for (const auto& s : sequences) {
    put(s.session, 8);
    put(s.start, 4);
    put(s.length, 4);
  }
  return out;
}

Envelope LogitsReply::encode() const {
  json meta = json::object();
  if (!missing.empty()) meta["missing"] = missing;
  return {std::move(meta), logits};
}

LogitsReply LogitsReply::decode(const Envelope& envelope) {
  LogitsReply out;
  if (const auto found = envelope.meta.find("missing"); found != envelope.meta.end()) {
    if (!found->is_array() || found->size() > kMaxInferSequences) throw std::invalid_argument("malformed missing list");
    for (const auto& item : *found) out.missing.push_back(sys::json_integer<std::uint32_t>(item, "missing sequence"));
  }
  out.logits = envelope.blob;
  return out;
}

Envelope ReduceRequest::encode() const {
  json meta{{"attempt", attempt}, {"contributors", hops_json(contributors)}};
  if (send_shared) meta["send_shared"] = true;
  if (!receipts.empty()) meta["receipts"] = receipts;
  if (installers > 1) meta["installers"] = installers;
  return {std::move(meta), {}};
}

ReduceRequest ReduceRequest::decode(const Envelope& envelope) {
  ReduceRequest out;
  out.attempt = required_u64(envelope.meta, "attempt");
  out.contributors = hops_from(envelope.meta.value("contributors", json::array()));
  if (out.contributors.empty()) throw std::invalid_argument("reduce without contributors");
  out.send_shared = envelope.meta.value("send_shared", false);
  out.receipts = receipts_from(envelope.meta);
  out.installers = sys::json_integer_or<std::uint32_t>(envelope.meta, "installers", 1);
  return out;
}

Envelope GradNormReply::encode() const { return {{{"attempt", attempt}, {"norm_squared", norm_squared}}, shared}; }

GradNormReply GradNormReply::decode(const Envelope& envelope) {
  GradNormReply out;
  out.attempt = sys::json_integer_or<std::uint64_t>(envelope.meta, "attempt", 0);
  out.norm_squared = envelope.meta.value("norm_squared", 0.0);
  out.shared = envelope.blob;
  return out;
}

Envelope AttemptRequest::encode() const { return {{{"attempt", attempt}}, {}}; }

AttemptRequest AttemptRequest::decode(const Envelope& envelope) { return {required_u64(envelope.meta, "attempt")}; }

ReplicaCredentials ReplicaCredentials::decode(const Envelope& envelope) {
  return {text_field(envelope.meta, "assignment")};
}

Envelope GradFetchRequest::encode() const {
  json meta{{"attempt", attempt}, {"assignment", assignment}};
  if (part != GradPart::raw) meta["part"] = static_cast<int>(part);
  return {std::move(meta), part == GradPart::second ? model::power_sgd::to_bf16_bytes(basis) : std::vector<std::uint8_t>{}};
}

GradFetchRequest GradFetchRequest::decode(const Envelope& envelope) {
  GradFetchRequest out{required_u64(envelope.meta, "attempt"), text_field(envelope.meta, "assignment")};
  const auto part = sys::json_integer_or<std::int64_t>(envelope.meta, "part", 0);
  if (part < 0 || part > 2) throw std::invalid_argument("GradFetch asks for an unknown part");
  out.part = static_cast<GradPart>(part);
  if (out.part == GradPart::second) {
    auto basis = model::power_sgd::from_bf16_bytes(envelope.blob);
    if (!basis) throw std::invalid_argument("GradFetch basis is not a bfloat16 vector");
    out.basis = std::move(*basis);
  }
  return out;
}

Envelope SharedGradientRequest::encode() const {
  json meta{{"attempt", attempt}};
  if (part == SharedPart::sum) return {std::move(meta), floats_to_bytes(gradient)};
  meta["part"] = static_cast<int>(part);
  // The basis (all of a second part's request, the head of a low-rank install) as bfloat16.
  const auto basis = part == SharedPart::second ? gradient.size() : std::min(basis_values, gradient.size());
  if (part == SharedPart::low_rank) meta["basis"] = basis;
  auto blob = model::power_sgd::to_bf16_bytes({gradient.begin(), gradient.begin() + static_cast<std::ptrdiff_t>(basis)});
  const auto rest = floats_to_bytes({gradient.begin() + static_cast<std::ptrdiff_t>(basis), gradient.end()});
  blob.insert(blob.end(), rest.begin(), rest.end());
  return {std::move(meta), std::move(blob)};
}

SharedGradientRequest SharedGradientRequest::decode(const Envelope& envelope) {
  SharedGradientRequest out;
  out.attempt = required_u64(envelope.meta, "attempt");
  const auto part = sys::json_integer_or<std::int64_t>(envelope.meta, "part", 0);
  if (part < 0 || part > 2) throw std::invalid_argument("SharedGradient names an unknown part");
  out.part = static_cast<SharedPart>(part);
  if (out.part == SharedPart::sum) {
    out.gradient = floats_from(envelope.blob, "shared embedding gradient");
    return out;
  }
  const auto& blob = envelope.blob;
  const auto basis = out.part == SharedPart::second ? blob.size() / 2 : sys::json_integer_or<std::uint64_t>(envelope.meta, "basis", 0);
  if (basis > blob.size() / 2) throw std::invalid_argument("shared embedding basis is longer than the payload");
  auto head = model::power_sgd::from_bf16_bytes(std::span(blob).first(basis * 2));
  if (!head) throw std::invalid_argument("shared embedding basis is not a bfloat16 vector");
  const auto tail = floats_from(std::span(blob).subspan(basis * 2), "shared embedding gradient");
  out.gradient = std::move(*head);
  out.gradient.insert(out.gradient.end(), tail.begin(), tail.end());
  out.basis_values = basis;
  return out;
}

Envelope StepRequest::encode() const {
  json meta{{"attempt", attempt}, {"norm", norm}, {"step_tokens", step_tokens}};
  if (loss) meta["loss"] = *loss;
  if (bytes_per_token) meta["bytes_per_token"] = *bytes_per_token;
  return {std::move(meta), {}};
}

StepRequest StepRequest::decode(const Envelope& envelope) {
  const auto& meta = envelope.meta;
  StepRequest out;
  out.attempt = required_u64(meta, "attempt");
  out.norm = meta.value("norm", -1.0);
  if (meta.contains("loss") && meta["loss"].is_number()) out.loss = meta["loss"].get<double>();
  if (meta.contains("bytes_per_token") && meta["bytes_per_token"].is_number())
    out.bytes_per_token = meta["bytes_per_token"].get<double>();
  out.step_tokens = meta.value("step_tokens", 0.0);
  return out;
}

Envelope AckReply::encode() const {
  json meta = json::object();
  if (lr) meta["lr"] = *lr;
  return {std::move(meta), {}};
}

Envelope PongReply::encode() const { return {{{"step", step}, {"paused", paused}}, {}}; }

PongReply PongReply::decode(const Envelope& envelope) {
  PongReply out;
  const auto step = envelope.meta.find("step");
  if (step != envelope.meta.end() && step->is_number_unsigned()) out.step = step->get<std::uint64_t>();
  const auto paused = envelope.meta.find("paused");
  out.paused = paused != envelope.meta.end() && paused->is_boolean() && paused->get<bool>();
  return out;
}

Envelope StateRequest::encode() const {
  return {{{"transfer", transfer}, {"offset", offset}, {"assignment", assignment}}, {}};
}

StateRequest StateRequest::decode(const Envelope& envelope) {
  return {sys::json_integer_or<std::uint64_t>(envelope.meta, "transfer", 0), sys::json_integer_or<std::uint64_t>(envelope.meta, "offset", 0),
          text_field(envelope.meta, "assignment")};
}

Envelope StateChunk::encode() const {
  return {{{"transfer", transfer}, {"offset", offset}, {"total", total}}, bytes};
}

StateChunk StateChunk::decode(const Envelope& envelope) {
  StateChunk out;
  out.transfer = required_u64(envelope.meta, "transfer");
  out.total = required_u64(envelope.meta, "total");
  out.offset = required_u64(envelope.meta, "offset");
  out.bytes = envelope.blob;
  return out;
}

Envelope CheckFetchRequest::encode() const { return {{{"ticket", ticket}, {"offset", offset}}, {}}; }

CheckFetchRequest CheckFetchRequest::decode(const Envelope& envelope) {
  return {text_field(envelope.meta, "ticket"), required_u64(envelope.meta, "offset")};
}

Envelope CheckChunk::encode() const { return {{{"offset", offset}, {"total", total}}, bytes}; }

CheckChunk CheckChunk::decode(const Envelope& envelope) {
  CheckChunk out;
  out.offset = required_u64(envelope.meta, "offset");
  out.total = required_u64(envelope.meta, "total");
  out.bytes = envelope.blob;
  return out;
}

Envelope ErrorReply::encode() const {
  json meta{{"message", message}};
  if (failed_peer) meta["failed_peer"] = wallet::to_hex(*failed_peer);
  return {std::move(meta), {}};
}

ErrorReply ErrorReply::decode(const Envelope& envelope) {
  ErrorReply out;
  const auto message = envelope.meta.find("message");
  if (message != envelope.meta.end() && message->is_string()) out.message = message->get<std::string>();
  const auto failed = envelope.meta.find("failed_peer");
  if (failed != envelope.meta.end() && failed->is_string()) out.failed_peer = wallet::fixed_from_hex<32>(failed->get<std::string>());
  return out;
}

}  // namespace tessera::net
