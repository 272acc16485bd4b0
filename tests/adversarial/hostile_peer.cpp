// The hostile member and its links to honest nodes (see hostile_peer.h).
#include "tests/adversarial/hostile_peer.h"

#include <chrono>

#include <zmq.hpp>

#include "core/model/codec.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"

namespace tessera::adversarial {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// --- Membership ------------------------------------------------------------------------------

HostilePeer::HostilePeer(std::string hub_url, Millis timeout)
    : owner_key_(wallet::KeyPair::generate()),
      key_(wallet::KeyPair::generate()),
      owner_address_(wallet::base58_encode(owner_key_.public_key())),
      hub_url_(hub_url),
      timeout_(timeout),
      hub_(std::in_place, std::move(hub_url), timeout) {}

HostilePeer::~HostilePeer() { stop_heartbeats(); }

int HostilePeer::join(const std::string& endpoint, bool keep_alive) {
  protocol::JoinRequest request;
  request.delegation = wallet::sign_delegation(owner_key_, key_.public_key(), wallet::kAnyRun, unix_now() + 86400);
  request.endpoint = endpoint;
  request.device = {"cpu", 1ull << 36, 1000.0};  // fits any stage
  stage_ = hub_->join(key_, request);
  if (keep_alive && !beating_.exchange(true)) {
    // Its own client: the test may point hub_ at a recording proxy meanwhile.
    heartbeats_ = std::thread([this] {
      client::HubClient hub(hub_url_, 3s);
      while (beating_) {
        try {
          hub.heartbeat(key_);
        } catch (const std::exception&) {
        }
        for (int i = 0; i < 10 && beating_; ++i) std::this_thread::sleep_for(100ms);
      }
    });
  }
  return stage_;
}

void HostilePeer::stop_heartbeats() {
  beating_ = false;
  if (heartbeats_.joinable()) heartbeats_.join();
}

void HostilePeer::ready() { hub_->ready(key_); }

void HostilePeer::leave() {
  stop_heartbeats();
  hub_->leave(key_);
}

bool HostilePeer::heartbeat() { return hub_->heartbeat(key_); }

namespace {

// The peer list as a member reads it: today a plain GET; once the hub serves it to members only
// (issue #16), HubClient signs the request with the member's key, and this picks that call.
template <typename Client>
std::vector<protocol::PeerInfo> peer_list(Client& hub, const wallet::KeyPair& key) {
  if constexpr (requires { hub.peers(key); }) return hub.peers(key);
  else return hub.peers();
}

}  // namespace

std::vector<protocol::PeerInfo> HostilePeer::peers() { return peer_list(*hub_, key_); }

const protocol::RunManifest& HostilePeer::manifest() {
  if (!manifest_) manifest_ = hub_->manifest();
  return *manifest_;
}

std::uint64_t HostilePeer::claim_credit(const std::vector<protocol::SignedReceipt>& receipts) {
  if (receipts.empty()) return 0;
  try {
    const auto reply = hub_->report_receipts(key_, receipts);
    return reply.value("accepted", std::uint64_t{0});
  } catch (const std::exception&) {
    return 0;  // refused outright
  }
}

std::vector<Target> targets(const std::vector<protocol::PeerInfo>& peers, const wallet::PublicKey& except) {
  std::vector<Target> out;
  for (const auto& peer : peers)
    if (peer.node_key != except && peer.ready()) out.push_back({peer.node_key, peer.endpoint, peer.stage});
  return out;
}

RunShape RunShape::of(const protocol::RunManifest& manifest) {
  RunShape shape;
  shape.run_id = manifest.run_id;
  shape.codec = static_cast<std::uint8_t>(model::parse_codec(manifest.codec));
  shape.stages = manifest.stages;
  shape.width = manifest.model.width;
  shape.context = manifest.model.context;
  shape.vocab = manifest.model.vocab;
  shape.micro_batch = manifest.train.micro_batch_size;
  return shape;
}

// --- Links to honest nodes -------------------------------------------------------------------

NodeLink::NodeLink(zmq::context_t& context, const wallet::KeyPair& identity, Target target, RunShape run)
    : context_(context), identity_(net::curve_keys_from(identity)), target_(std::move(target)), run_(std::move(run)) {
  connect();
}

NodeLink::~NodeLink() = default;

void NodeLink::connect() {
  client_.reset();
  client_ = std::make_unique<net::Client>(context_, identity_, net::curve_public_from(target_.key), target_.endpoint);
}

bool NodeLink::admitted(Millis deadline) {
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (auto answer = ask(header(net::MessageKind::Ping), ping(), 1500ms)) return true;
    connect();
  }
  return false;
}

std::optional<std::uint64_t> NodeLink::step() {
  const auto answer = ask(header(net::MessageKind::Ping), ping(), 3000ms);
  if (!answer || answer->kind() != net::MessageKind::Pong || !answer->envelope) return std::nullopt;
  try {
    return net::PongReply::decode(*answer->envelope).step;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool NodeLink::answers() { return ask(header(net::MessageKind::Ping), ping(), 3000ms).has_value(); }

net::MessageHeader NodeLink::header(net::MessageKind kind, std::uint64_t step, int stage) const {
  net::MessageHeader h;
  h.kind = kind;
  h.run_id = run_.run_id;
  h.step = step;
  h.stage = static_cast<std::uint16_t>(stage < 0 ? target_.stage : stage);
  h.codec = run_.codec;
  h.dtype = model::DType::u8;
  return h;
}

bool NodeLink::post(const net::MessageHeader& header, net::Envelope message) {
  message.meta["request"] = next_request_++;
  const auto payload = net::pack(message.meta, message.blob);
  return post_raw(header, payload);
}

bool NodeLink::post_raw(const net::MessageHeader& header, std::span<const std::uint8_t> payload) {
  try {
    return client_->send(header, payload, 2000ms);
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<Answer> NodeLink::ask(const net::MessageHeader& header, net::Envelope message, Millis timeout) {
  const auto id = next_request_;
  if (!post(header, std::move(message))) return std::nullopt;
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    std::optional<net::Message> reply;
    try {
      reply = client_->receive(std::chrono::duration_cast<Millis>(until - Clock::now()));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (!reply) return std::nullopt;
    auto envelope = net::unpack(reply->payload);
    if (envelope && envelope->meta.value("request", std::uint64_t{0}) != id) continue;  // a late reply
    return Answer{std::move(reply->header), std::move(envelope)};
  }
  return std::nullopt;
}

std::vector<Answer> NodeLink::drain(Millis quiet, Millis limit) {
  std::vector<Answer> out;
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    std::optional<net::Message> reply;
    try {
      reply = client_->receive(quiet);
    } catch (const std::exception&) {
      break;
    }
    if (!reply) break;
    auto envelope = net::unpack(reply->payload);
    out.push_back({std::move(reply->header), std::move(envelope)});
  }
  return out;
}

// --- Messages --------------------------------------------------------------------------------

net::Envelope ping() { return {nlohmann::json::object(), {}}; }

std::vector<std::uint64_t> boundary_shape(const RunShape& run, int batch, int sequence) {
  return {static_cast<std::uint64_t>(batch), static_cast<std::uint64_t>(sequence), static_cast<std::uint64_t>(run.width)};
}

namespace {

// Plausible input for `stage`: token ids of the run's vocabulary and, past stage 0, zero
// activations of the boundary shape (raw float32: the codec "none" the tests run).
net::StageInput stage_input(const RunShape& run, int stage, int batch, const std::vector<net::Hop>& route) {
  net::StageInput input;
  input.batch = batch;
  input.sequence = run.context;
  input.route = route;
  for (int i = 0; i < batch * (run.context + 1); ++i) input.tokens.push_back(48 + i % 10);
  if (stage > 0) input.activations.assign(static_cast<std::size_t>(batch) * run.context * run.width * 4, 0);
  return input;
}

}  // namespace

net::Envelope forward(std::uint64_t attempt, const wallet::PublicKey& from, const RunShape& run, int target_stage,
                      const std::vector<net::Hop>& route) {
  net::ForwardRequest request;
  request.attempt = attempt;
  request.from = from;
  request.input = stage_input(run, target_stage, run.micro_batch, route);
  return std::move(request).encode();
}

net::Envelope infer(const RunShape& run, int target_stage, const std::vector<net::Hop>& route) {
  net::InferRequest request;
  request.input = stage_input(run, target_stage, 1, route);
  return request.encode();
}

std::vector<net::Hop> route_after(const std::vector<Target>& honest, int stage, int stages) {
  std::vector<net::Hop> route;
  for (int k = stage + 1; k < stages; ++k)
    for (const auto& node : honest)
      if (node.stage == k) {
        route.push_back({node.key, node.endpoint});
        break;
      }
  return route;
}

std::vector<protocol::SignedReceipt> receipts_in(const Answer& answer) {
  std::vector<protocol::SignedReceipt> out;
  if (answer.kind() != net::MessageKind::Backward || !answer.envelope) return out;
  try {
    const auto reply = net::BackwardReply::decode(*answer.envelope);
    auto texts = reply.receipts;
    if (reply.receipt) texts.push_back(*reply.receipt);
    for (const auto& text : texts)
      if (const auto raw = wallet::from_hex(text))
        if (auto receipt = protocol::SignedReceipt::decode(*raw)) out.push_back(*receipt);
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace tessera::adversarial
