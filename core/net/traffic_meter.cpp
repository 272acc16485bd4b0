// The traffic kinds' table, the classification of swarm messages, the CurveZMQ framing cost and
// the meter's counters.
#include "core/net/traffic_meter.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace tessera::net {
namespace {

struct KindInfo {
  TrafficKind kind;
  const char* name;
};

constexpr std::array<KindInfo, kTrafficKinds> kKinds{{
    {TrafficKind::boundary_forward, "boundary_forward"},
    {TrafficKind::boundary_backward, "boundary_backward"},
    {TrafficKind::replica_averaging, "replica_averaging"},
    {TrafficKind::embedding_sync, "embedding_sync"},
    {TrafficKind::state_transfer, "state_transfer"},
    {TrafficKind::spot_checks, "spot_checks"},
    {TrafficKind::inference, "inference"},
    {TrafficKind::control, "control"},
}};

// Which kind each swarm message is; a message kind not listed is control (Receipt, Ping, Pong,
// Error, Step, Abort, Ack). GradNorm is settled by its size in classify().
struct MessageClass {
  MessageKind message;
  TrafficKind traffic;
};

constexpr MessageClass kClasses[] = {
    {MessageKind::Forward, TrafficKind::boundary_forward},
    {MessageKind::Backward, TrafficKind::boundary_backward},
    {MessageKind::Reduce, TrafficKind::replica_averaging},
    {MessageKind::GradFetch, TrafficKind::replica_averaging},
    {MessageKind::Gradient, TrafficKind::replica_averaging},
    {MessageKind::GradNorm, TrafficKind::replica_averaging},
    {MessageKind::SharedGradient, TrafficKind::embedding_sync},
    {MessageKind::StateRequest, TrafficKind::state_transfer},
    {MessageKind::StateChunk, TrafficKind::state_transfer},
    {MessageKind::CheckFetch, TrafficKind::spot_checks},
    {MessageKind::CheckChunk, TrafficKind::spot_checks},
    {MessageKind::Infer, TrafficKind::inference},
    {MessageKind::Logits, TrafficKind::inference},
};

// JavaScript's largest exact integer: a count beyond it cannot be a real one and would not
// survive a round trip through a JSON reader that uses doubles.
constexpr std::uint64_t kMaxCount = 1ull << 53;

std::optional<std::uint64_t> read_count(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_unsigned()) return std::nullopt;
  const auto value = found->get<std::uint64_t>();
  if (value > kMaxCount) return std::nullopt;
  return value;
}

}  // namespace

const char* kind_name(TrafficKind kind) { return kKinds[static_cast<std::size_t>(kind)].name; }

std::optional<TrafficKind> traffic_kind_from_name(std::string_view name) {
  for (const auto& info : kKinds)
    if (name == info.name) return info.kind;
  return std::nullopt;
}

TrafficKind classify(MessageKind kind, std::size_t payload_bytes) {
  if (kind == MessageKind::GradNorm && payload_bytes > kGradNormEmbeddingBytes) return TrafficKind::embedding_sync;
  for (const auto& entry : kClasses)
    if (entry.message == kind) return entry.traffic;
  return TrafficKind::control;
}

// Under CURVE every ZMTP frame travels as a MESSAGE command (libzmq src/curve_mechanism_base.cpp,
// curve_encoding_t::encode): "\x07MESSAGE" (8 bytes) + the short nonce (8) + a box of the flags
// byte (1) + the frame's data, with its MAC (crypto_box_MACBYTES, 16): n + 33 bytes. That command
// is written as a ZMTP frame (src/v2_encoder.cpp, message_ready; ZMTP 3.1 uses it for all but
// SUBSCRIBE/CANCEL): a flags byte and a 1-byte size when the body is at most 255 bytes, else an
// 8-byte size: 2 or 9 bytes. Checked against libzmq 4.3 and, end to end, against the kernel's
// count of a connection's bytes (tests/net/test_traffic_socket.cpp). What is not counted here: the
// greeting and CURVE handshake of each connection and the ZMTP heartbeats (PING/PONG, 1 s).
std::uint64_t curve_frame_bytes(std::size_t frame_bytes) {
  constexpr std::uint64_t kCommand = 8, kNonce = 8, kFlags = 1, kMac = 16, kShortHeader = 2, kLongHeader = 9;
  const std::uint64_t body = kCommand + kNonce + kFlags + frame_bytes + kMac;
  return body + (body > 255 ? kLongHeader : kShortHeader);
}

TrafficCount TrafficSnapshot::total() const {
  TrafficCount sum;
  for (const auto& count : kinds) {
    sum.sent += count.sent;
    sum.received += count.received;
  }
  return sum;
}

TrafficSnapshot& TrafficSnapshot::operator+=(const TrafficSnapshot& other) {
  for (std::size_t i = 0; i < kTrafficKinds; ++i) {
    kinds[i].sent += other.kinds[i].sent;
    kinds[i].received += other.kinds[i].received;
  }
  return *this;
}

nlohmann::json TrafficSnapshot::to_json() const {
  auto json = nlohmann::json::object();
  for (const auto& info : kKinds)
    json[info.name] = {{"sent", (*this)[info.kind].sent}, {"received", (*this)[info.kind].received}};
  const auto sum = total();
  json["total"] = {{"sent", sum.sent}, {"received", sum.received}};
  return json;
}

std::optional<TrafficSnapshot> TrafficSnapshot::from_json(const nlohmann::json& json) {
  if (!json.is_object() || json.size() > kTrafficKinds + 1) return std::nullopt;
  TrafficSnapshot snapshot;
  for (const auto& [name, value] : json.items()) {
    if (name == "total") continue;
    const auto kind = traffic_kind_from_name(name);
    if (!kind || !value.is_object() || value.size() != 2) return std::nullopt;
    const auto sent = read_count(value, "sent");
    const auto received = read_count(value, "received");
    if (!sent || !received) return std::nullopt;
    snapshot[*kind] = {*sent, *received};
  }
  return snapshot;
}

std::optional<double> TrafficReport::bytes_per_token() const {
  if (tokens == 0) return std::nullopt;
  return static_cast<double>(bytes.total().both()) / static_cast<double>(tokens);
}

std::optional<double> TrafficReport::compression() const {
  std::uint64_t carried = 0;
  for (const auto kind : {TrafficKind::boundary_forward, TrafficKind::boundary_backward, TrafficKind::replica_averaging,
                          TrafficKind::embedding_sync})
    carried += bytes[kind].both();
  if (carried == 0 || fp32_equivalent == 0) return std::nullopt;
  return static_cast<double>(fp32_equivalent) / static_cast<double>(carried);
}

namespace {

std::string megabytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

std::string with_thousands(std::uint64_t value) {
  auto digits = std::to_string(value);
  for (auto at = digits.size(); at > 3; at -= 3) digits.insert(at - 3, ",");
  return digits;
}

}  // namespace

std::string TrafficReport::summary() const {
  const auto sum = bytes.total();
  std::string text = megabytes(sum.sent) + " sent, " + megabytes(sum.received) + " received";
  if (const auto per_token = bytes_per_token())
    text += ", " + with_thousands(static_cast<std::uint64_t>(std::llround(*per_token))) + " bytes/token";
  if (const auto ratio = compression()) {
    char less[48];
    std::snprintf(less, sizeof less, ", %.1f× less than fp32", *ratio);
    text += less;
  }
  std::string shares;
  for (const auto& info : kKinds) {
    const auto part = bytes[info.kind].both();
    if (part == 0) continue;
    shares += (shares.empty() ? "" : ", ") + std::string(info.name) + " " +
              std::to_string(static_cast<int>(std::lround(100.0 * static_cast<double>(part) / static_cast<double>(sum.both())))) + "%";
  }
  return shares.empty() ? text : text + " (" + shares + ")";
}

nlohmann::json TrafficReport::to_json() const {
  const auto per_token = bytes_per_token();
  return {{"bytes", bytes.to_json()},
          {"tokens", tokens},
          {"bytes_per_token", per_token ? nlohmann::json(*per_token) : nlohmann::json()},
          {"fp32_equivalent", fp32_equivalent},
          {"compression", compression() ? nlohmann::json(*compression()) : nlohmann::json()}};
}

std::optional<TrafficReport> TrafficReport::from_json(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("bytes")) return std::nullopt;
  auto snapshot = TrafficSnapshot::from_json(json["bytes"]);
  const auto tokens = read_count(json, "tokens");
  if (!snapshot || !tokens) return std::nullopt;
  const auto equivalent = json.contains("fp32_equivalent") ? read_count(json, "fp32_equivalent") : std::optional<std::uint64_t>(0);
  if (!equivalent) return std::nullopt;
  return TrafficReport{*snapshot, *tokens, *equivalent};
}

void TrafficMeter::count_sent(TrafficKind kind, std::uint64_t bytes) {
  counters_[static_cast<std::size_t>(kind)].sent.fetch_add(bytes, std::memory_order_relaxed);
}

void TrafficMeter::count_received(TrafficKind kind, std::uint64_t bytes) {
  counters_[static_cast<std::size_t>(kind)].received.fetch_add(bytes, std::memory_order_relaxed);
}

void TrafficMeter::count_trained_tokens(std::uint64_t tokens) { tokens_.fetch_add(tokens, std::memory_order_relaxed); }

void TrafficMeter::count_fp32_equivalent(std::uint64_t bytes) {
  fp32_equivalent_.fetch_add(bytes, std::memory_order_relaxed);
}

TrafficReport TrafficMeter::report() const {
  return {snapshot(), tokens_.load(std::memory_order_relaxed), fp32_equivalent_.load(std::memory_order_relaxed)};
}

TrafficSnapshot TrafficMeter::snapshot() const {
  TrafficSnapshot out;
  for (std::size_t i = 0; i < kTrafficKinds; ++i) {
    out.kinds[i].sent = counters_[i].sent.load(std::memory_order_relaxed);
    out.kinds[i].received = counters_[i].received.load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace tessera::net
