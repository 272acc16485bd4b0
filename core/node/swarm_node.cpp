// The swarm node: a stage server thread (CurveZMQ ROUTER), a hub thread (heartbeats, peer list →
// ZAP allowlist, receipt reports) and the caller's thread (state sync, and the step loop when this
// node is the driver). The stage server passes a Forward on to the next stage without waiting and
// lands the answers in arrival order, so consecutive micro-batches overlap across stages; other
// requests are handled one at a time under the stage mutex, and nothing that waits on a downstream
// peer holds this node's mutex while a request it needs could be waiting for it: no deadlock.
#include "core/node/swarm_node.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <variant>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "core/client/hub_client.h"
#include "core/client/statement_sync.h"
#include "core/engine/data.h"
#include "core/engine/stage.h"
#include "core/ledger/ledger.h"
#include "core/net/endpoint.h"
#include "core/net/zap.h"
#include "core/node/envelope.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/wallet/encoding.h"

namespace tessera::node {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr std::size_t kStateChunk = 4 << 20;
constexpr std::size_t kReceiptBatch = 500;

struct Hop {
  wallet::PublicKey key{};
  std::string endpoint;
};

json hop_json(const Hop& hop) { return json::array({wallet::to_hex(hop.key), hop.endpoint}); }

Hop hop_from(const json& value) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_string() || !value[1].is_string())
    throw std::invalid_argument("malformed route entry");
  const auto key = wallet::fixed_from_hex<32>(value[0].get<std::string>());
  if (!key) throw std::invalid_argument("malformed route key");
  return {*key, value[1].get<std::string>()};
}

std::vector<Hop> hops_from(const json& value) {
  if (!value.is_array() || value.size() > 64) throw std::invalid_argument("malformed route");
  std::vector<Hop> out;
  for (const auto& item : value) out.push_back(hop_from(item));
  return out;
}

// A peer that did not answer, answered wrongly or sent a bad payload: the step attempt fails.
struct PeerFailure : std::runtime_error {
  wallet::PublicKey peer;
  PeerFailure(const wallet::PublicKey& who, const std::string& message) : std::runtime_error(message), peer(who) {}
};

std::string short_key(const wallet::PublicKey& key) { return wallet::to_hex(key).substr(0, 12); }

std::uint64_t meta_u64(const json& meta, const char* name) {
  const auto found = meta.find(name);
  if (found == meta.end() || !found->is_number_unsigned()) throw std::invalid_argument(std::string("missing ") + name);
  return found->get<std::uint64_t>();
}

std::vector<std::uint8_t> tokens_to_bytes(const std::vector<std::int32_t>& tokens) {
  std::vector<std::uint8_t> out(tokens.size() * 4);
  for (std::size_t i = 0; i < tokens.size(); ++i)
    for (int b = 0; b < 4; ++b) out[i * 4 + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(static_cast<std::uint32_t>(tokens[i]) >> (8 * b));
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

std::string random_hex(std::size_t bytes) {
  std::vector<std::uint8_t> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  return wallet::to_hex(raw);
}

std::uint64_t random_u64() {
  std::uint64_t value = 0;
  randombytes_buf(&value, sizeof value);
  return value;
}

// Idle clients per endpoint; a client that timed out is destroyed (its late reply with it).
class ClientPool {
 public:
  ClientPool(zmq::context_t& context, const net::CurveKeyPair& identity) : context_(context), identity_(identity) {}

  std::unique_ptr<net::Client> acquire(const Hop& hop) {
    {
      std::lock_guard lock(mutex_);
      auto& idle = idle_[hop.endpoint + "|" + wallet::to_hex(hop.key)];
      if (!idle.empty()) {
        auto client = std::move(idle.back());
        idle.pop_back();
        return client;
      }
    }
    return std::make_unique<net::Client>(context_, identity_, net::curve_public_from(hop.key), hop.endpoint);
  }
  void release(const Hop& hop, std::unique_ptr<net::Client> client) {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[hop.endpoint + "|" + wallet::to_hex(hop.key)];
    if (idle.size() < 4) idle.push_back(std::move(client));
  }
  void clear() {
    std::lock_guard lock(mutex_);
    idle_.clear();
  }

 private:
  zmq::context_t& context_;
  const net::CurveKeyPair& identity_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<net::Client>>> idle_;
};

struct Reply {
  net::MessageHeader header;
  Envelope envelope;
};

struct Out {
  net::MessageHeader header;
  json meta = json::object();
  std::vector<std::uint8_t> blob;
};

// What a call sent: its size and the BLAKE2b-256 the header carried (the hash a receipt must sign).
struct Sent {
  std::size_t bytes = 0;
  net::PayloadHash hash{};
};

struct WorkTally {
  std::int64_t micro_batches = 0;
  double tokens = 0, flops = 0, device_seconds = 0;
  std::int64_t bytes_sent = 0, bytes_received = 0;
};

}  // namespace

struct SwarmNode::Impl {
  Impl(const wallet::KeyPair& node_key, wallet::Delegation owner_delegation, SwarmNodeOptions node_options,
       EventBus* bus)
      : key(wallet::KeyPair::from_seed(node_key.seed())),
        delegation(std::move(owner_delegation)),
        options(std::move(node_options)),
        events(bus) {}

  wallet::KeyPair key;
  wallet::Delegation delegation;
  SwarmNodeOptions options;
  EventBus* events = nullptr;
  net::CurveKeyPair curve;
  std::unique_ptr<zmq::context_t> context;
  std::shared_ptr<net::PeerAllowlist> allowlist = std::make_shared<net::PeerAllowlist>();
  std::unique_ptr<net::ZapHandler> zap;
  std::unique_ptr<net::Server> server;
  std::unique_ptr<ClientPool> pool;
  std::unique_ptr<client::HubClient> hub;
  protocol::RunManifest manifest;
  engine::CodecKind codec = engine::CodecKind::none;
  std::unique_ptr<ledger::LedgerWriter> ledger;
  std::unique_ptr<client::StatementSync> statements;  // the owner's epoch statements, verified into the log
  Clock::time_point next_statement_poll{};
  std::string session_id;
  std::filesystem::path ledger_file;

  // Training state, guarded by stage_mutex.
  mutable std::mutex stage_mutex;
  std::unique_ptr<engine::Stage> stage;
  std::atomic<int> stage_index{-1};
  std::uint64_t active_attempt = 0;
  std::uint64_t active_step = 0;
  std::set<std::uint64_t> aborted;
  std::vector<protocol::SignedReceipt> pending;
  std::map<std::uint32_t, wallet::PublicKey> owed_receipts;  // micro-batch → who got our gradient
  WorkTally work;
  std::optional<std::vector<float>> snapshot;
  std::uint64_t transfer_id = 0;
  std::vector<std::uint8_t> transfer_bytes;
  std::atomic<bool> need_resync{false};
  std::atomic<std::uint64_t> request_counter{1};

  // Shared with the hub thread.
  std::mutex outbox_mutex;
  std::vector<protocol::SignedReceipt> outbox;
  // The last committed step's log rows, being made durable while the next step runs, and its
  // receipts, which go to the outbox (and so to the hub) only once the rows are durable.
  std::mutex log_mutex;
  std::optional<std::future<std::vector<std::int64_t>>> log_in_flight;
  std::vector<protocol::SignedReceipt> log_in_flight_receipts;
  mutable std::mutex peers_mutex;
  std::vector<protocol::PeerInfo> peers;
  std::atomic<bool> rejoin{false};

  // Status.
  mutable std::mutex status_mutex;
  std::string state = "starting", reason;
  std::int64_t step = 0;
  double loss = std::nan(""), step_rate = 0, tokens_per_s = 0, bytes_per_token = 0;
  Clock::time_point last_commit{};
  Clock::time_point last_step_event{};
  bool paused = false;
  Clock::time_point snoozed_until{};
  std::function<std::optional<std::string>()> pause_hook;
  SwarmStats counters;

  // Driver.
  std::map<wallet::PublicKey, Clock::time_point> suspects;
  std::uint64_t next_attempt = (random_u64() & 0xFFFFFFFFull) << 20;
  Clock::time_point last_step_end{};  // when the last committed step was reported (reset by a failed one)
  std::optional<engine::DataSource> data;

  std::atomic<bool> serving{false};
  std::thread server_thread, hub_thread;
  std::mutex wake_mutex;
  std::condition_variable wake;

  void set_state(const std::string& new_state, const std::string& why = {}) {
    bool changed = false;
    {
      std::lock_guard lock(status_mutex);
      changed = state != new_state || reason != why;
      state = new_state;
      reason = why;
    }
    if (changed && events) events->publish("state", {{"state", new_state}, {"reason", why}});
    if (changed && ledger && (new_state == "paused" || new_state == "waiting" || new_state == "running" ||
                              new_state == "error"))
      try {
        ledger->append(ledger::EventRecord{0, new_state, manifest.run_id, why.empty() ? new_state : why, ""});
      } catch (const std::exception& error) {
        spdlog::warn("could not log the state change: {}", error.what());
      }
  }

  net::MessageHeader header(net::MessageKind kind, std::uint64_t step_number, std::uint32_t micro_batch, int stage_number) const {
    net::MessageHeader h;
    h.kind = kind;
    h.run_id = manifest.run_id;
    h.step = step_number;
    h.micro_batch = micro_batch;
    h.stage = static_cast<std::uint16_t>(stage_number);
    h.codec = static_cast<std::uint8_t>(codec);
    h.dtype = net::DType::U8;
    return h;
  }

  // One request to a peer, with a deadline; nothing when it did not answer in time.
  std::optional<Reply> call(const Hop& hop, net::MessageHeader h, json meta, std::span<const std::uint8_t> blob,
                            net::Timeout timeout, Sent* sent = nullptr) {
    const auto request = request_counter++;
    meta["request"] = request;
    const auto payload = pack(meta, blob);
    if (sent) sent->bytes = payload.size();
    const auto deadline = Clock::now() + timeout;
    std::unique_ptr<net::Client> client;
    try {
      client = pool->acquire(hop);
    } catch (const std::exception& error) {
      spdlog::warn("cannot reach {} at {}: {}", short_key(hop.key), hop.endpoint, error.what());
      return std::nullopt;
    }
    try {
      if (!client->send(h, payload, timeout, sent ? &sent->hash : nullptr)) {
        spdlog::debug("{} to {}: could not send", net::kind_name(h.kind), short_key(hop.key));
        return std::nullopt;
      }
      while (true) {
        const auto left = std::chrono::duration_cast<net::Timeout>(deadline - Clock::now());
        if (left <= 0ms) return std::nullopt;
        auto message = client->receive(left);
        if (!message) {
          spdlog::debug("{} to {}: no answer in time", net::kind_name(h.kind), short_key(hop.key));
          return std::nullopt;
        }
        auto envelope = unpack(message->payload);
        if (!envelope || envelope->meta.value("request", std::uint64_t{0}) != request) continue;  // stale
        pool->release(hop, std::move(client));
        return Reply{std::move(message->header), std::move(*envelope)};
      }
    } catch (const std::exception& error) {  // EINTR and the like: this call failed, the client goes
      spdlog::debug("call to {} failed: {}", short_key(hop.key), error.what());
      return std::nullopt;
    }
  }

  // A call whose failure (silence, an error reply, the wrong kind) names the peer.
  Reply call_or_fail(const Hop& hop, net::MessageHeader h, json meta, std::span<const std::uint8_t> blob,
                     net::Timeout timeout, net::MessageKind expected, Sent* sent = nullptr) {
    auto reply = call(hop, h, std::move(meta), blob, timeout, sent);
    if (!reply) throw PeerFailure(hop.key, "peer " + short_key(hop.key) + " did not answer");
    return expect(hop, std::move(*reply), expected);
  }

  // An answer that is an Error or of the wrong kind names the peer that failed.
  static Reply expect(const Hop& hop, Reply reply, net::MessageKind expected) {
    if (reply.header.kind == net::MessageKind::Error) {
      wallet::PublicKey failed = hop.key;
      if (reply.envelope.meta.contains("failed_peer") && reply.envelope.meta["failed_peer"].is_string())
        if (auto named = wallet::fixed_from_hex<32>(reply.envelope.meta["failed_peer"].get<std::string>())) failed = *named;
      throw PeerFailure(failed, reply.envelope.meta.value("message", std::string("error")));
    }
    if (reply.header.kind != expected)
      throw PeerFailure(hop.key, std::string("peer answered ") + net::kind_name(reply.header.kind));
    return reply;
  }

  // A connection the driver keeps for a step, with several requests in flight on it: they are sent
  // in order on one socket, so the peer takes them in order; replies are matched by request id.
  struct Link {
    Hop hop;
    std::unique_ptr<net::Client> client;
    std::map<std::uint64_t, Reply> early;  // replies that overtook an older request's (not expected)
  };

  // The link to `hop` in `links`, connected if it is not (a dropped one starts afresh).
  Link& open_link(std::map<wallet::PublicKey, Link>& links, const Hop& hop) {
    auto& link = links[hop.key];
    if (!link.client) {
      link.hop = hop;
      link.early.clear();
      try {
        link.client = pool->acquire(hop);
      } catch (const std::exception& error) {
        throw PeerFailure(hop.key, "cannot reach " + short_key(hop.key) + ": " + error.what());
      }
    }
    return link;
  }

  std::uint64_t post(Link& link, const net::MessageHeader& h, json meta, std::span<const std::uint8_t> blob,
                     net::Timeout timeout, Sent& sent) {
    const auto request = request_counter++;
    meta["request"] = request;
    const auto payload = pack(meta, blob);
    sent.bytes = payload.size();
    try {
      if (link.client->send(h, payload, timeout, &sent.hash)) return request;
    } catch (const std::exception& error) {
      spdlog::debug("{} to {} failed: {}", net::kind_name(h.kind), short_key(link.hop.key), error.what());
    }
    throw PeerFailure(link.hop.key, "peer " + short_key(link.hop.key) + " did not take the request");
  }

  Reply await(Link& link, std::uint64_t request, Clock::time_point deadline, net::MessageKind expected) {
    if (const auto found = link.early.find(request); found != link.early.end()) {
      auto reply = std::move(found->second);
      link.early.erase(found);
      return expect(link.hop, std::move(reply), expected);
    }
    try {
      while (true) {
        const auto left = std::chrono::duration_cast<net::Timeout>(deadline - Clock::now());
        if (left <= 0ms) break;
        auto message = link.client->receive(left);
        if (!message) break;
        auto envelope = unpack(message->payload);
        if (!envelope) continue;
        const auto id = envelope->meta.value("request", std::uint64_t{0});
        Reply reply{std::move(message->header), std::move(*envelope)};
        if (id == request) return expect(link.hop, std::move(reply), expected);
        if (id > request) link.early.emplace(id, std::move(reply));  // older ids are stale
      }
    } catch (const PeerFailure&) {
      throw;
    } catch (const std::exception& error) {
      spdlog::debug("waiting on {} failed: {}", short_key(link.hop.key), error.what());
    }
    throw PeerFailure(link.hop.key, "peer " + short_key(link.hop.key) + " did not answer");
  }

  // --- handlers (stage mutex held) ---------------------------------------------------------

  void enter_attempt(std::uint64_t attempt, std::uint64_t step_number) {
    if (aborted.count(attempt)) throw std::invalid_argument("step attempt was abandoned");
    const auto mine = static_cast<std::uint64_t>(stage->step_count());
    if (mine != step_number) {
      if (mine < step_number) need_resync = true;
      throw std::invalid_argument("out of sync: this replica is at step " + std::to_string(mine) + ", asked for " +
                                  std::to_string(step_number));
    }
    if (attempt != active_attempt) {
      stage->discard_step();
      pending.clear();
      owed_receipts.clear();
      work = {};
      snapshot.reset();
      active_attempt = attempt;
      active_step = step_number;
    }
  }

  protocol::SignedReceipt sign(const net::MessageHeader& h, protocol::Direction direction, const wallet::PublicKey& sender,
                               int sender_stage, double tokens) const {
    protocol::Receipt r;
    r.run_id = manifest.run_id;
    r.step = h.step;
    r.micro_batch = h.micro_batch;
    r.direction = direction;
    r.sender = sender;
    r.receiver = key.public_key();
    r.stage = static_cast<std::uint16_t>(sender_stage);
    r.tokens = static_cast<std::uint32_t>(tokens);
    r.payload_hash = h.payload_hash;
    return protocol::sign_receipt(r, key);
  }

  void check_receipt(const json& meta, const Hop& receiver, const net::MessageHeader& about,
                     protocol::Direction direction, int sender_stage, const net::PayloadHash& payload_hash) {
    const auto raw = wallet::from_hex(meta.value("receipt", std::string()));
    const auto receipt = raw ? protocol::SignedReceipt::decode(*raw) : std::nullopt;
    if (!receipt) throw PeerFailure(receiver.key, "peer " + short_key(receiver.key) + " sent no valid receipt");
    const auto& r = receipt->receipt;
    if (r.run_id != manifest.run_id || r.step != about.step || r.micro_batch != about.micro_batch ||
        r.direction != direction || r.sender != key.public_key() || r.receiver != receiver.key ||
        r.stage != sender_stage || r.payload_hash != payload_hash || !protocol::verify_receipt(*receipt))
      throw PeerFailure(receiver.key, "peer " + short_key(receiver.key) + " sent a receipt that does not match");
    pending.push_back(*receipt);
  }

  // How many micro-batches may be ahead of this one at a later stage (the driver's "queue", sent
  // when a stage can receive from several replicas of the one before it and so take micro-batches
  // out of order): each of them may take a hop's time before this one is answered.
  int queue_of(const json& meta) const {
    const auto queue = meta.value("queue", std::int64_t{0});
    if (queue < 0 || queue >= manifest.train.micro_batches) throw std::invalid_argument("queue out of range");
    return static_cast<int>(queue);
  }

  // The stage input a Forward or Infer request carries: token ids [batch, sequence + 1] at the end
  // of the blob, this stage's boundary payload before them (nothing on stage 0). Sizes are checked
  // before anything is sliced; shapes, codec and values are the Stage's to check.
  engine::ForwardMessage forward_input(const net::MessageHeader& h, const Envelope& envelope, std::int64_t micro_batch,
                                       const char* what) const {
    const auto batch = static_cast<int>(meta_u64(envelope.meta, "batch"));
    const auto sequence = static_cast<int>(meta_u64(envelope.meta, "sequence"));
    const auto token_count = static_cast<std::size_t>(batch) * static_cast<std::size_t>(sequence + 1);
    if (batch < 1 || sequence < 1 || token_count * 4 > envelope.blob.size())
      throw std::invalid_argument(std::string(what) + " payload is smaller than its token ids");
    const auto activation_bytes = envelope.blob.size() - token_count * 4;
    engine::ForwardMessage input;
    input.micro_batch = micro_batch;
    input.batch = batch;
    input.sequence = sequence;
    input.tokens = tokens_from_bytes(std::span(envelope.blob).subspan(activation_bytes));
    if (stage_index > 0) {
      input.activations.codec = codec;
      for (auto d : h.shape) input.activations.shape.push_back(static_cast<std::int64_t>(d));
      input.activations.bytes.assign(envelope.blob.begin(), envelope.blob.begin() + static_cast<std::ptrdiff_t>(activation_bytes));
    } else if (activation_bytes != 0) {
      throw std::invalid_argument("stage 0 takes token ids only");
    }
    return input;
  }

  // One micro-batch on this stage, split where it waits for the next stage: forward_begin (forward,
  // and on the last stage the backward too), the downstream call, forward_land (receipt checks and
  // the backward), forward_reply. handle_forward runs them in a row (the last stage's server); the
  // stage server of the other stages (begin_passed / land_passed) and the driver's pipeline
  // schedule (drive_micro_batches) run them apart.
  struct ForwardJob {
    net::MessageHeader h;
    std::uint64_t attempt = 0;
    wallet::PublicKey from{};
    engine::ForwardResult result;
    double chain_loss = 0, forward_bytes = 0;
    engine::BackwardResult back;
    json receipts = json::array();  // Backward receipts signed on this route, for the driver to deliver
    std::optional<Hop> next;        // empty on the last stage
    int queue = 0;                  // micro-batches that may be ahead of this one at a later stage
    net::MessageHeader down;
    json down_meta;
    std::vector<std::uint8_t> blob;
    Clock::time_point t0, t_forward, t_down, t_check, t_back;
  };

  // Stage mutex held.
  ForwardJob forward_begin(const net::MessageHeader& h, std::uint64_t attempt, const wallet::PublicKey& from,
                           const engine::ForwardMessage& input, const std::vector<Hop>& route, std::size_t received_bytes,
                           int queue) {
    const int k = stage_index;
    const int count = manifest.stages;
    if (static_cast<int>(route.size()) != count - 1 - k) throw std::invalid_argument("route does not reach the last stage");
    enter_attempt(attempt, h.step);
    ForwardJob job;
    job.h = h;
    job.attempt = attempt;
    job.from = from;
    job.queue = queue;
    job.t0 = Clock::now();
    job.result = stage->forward(input);  // rejects bad shapes, codecs, non-finite values
    job.t_forward = job.t_down = job.t_check = job.t_back = Clock::now();
    auto& result = job.result;
    job.chain_loss = result.metrics.count("loss") ? result.metrics["loss"] : 0.0;
    work.micro_batches += 1;
    work.tokens += result.metrics["tokens"];
    work.flops += result.metrics["flops"];
    work.device_seconds += result.metrics["device_seconds"];
    work.bytes_received += static_cast<std::int64_t>(received_bytes);
    if (k == count - 1) {
      job.back = stage->backward(h.micro_batch, {});
      return job;
    }
    job.next = route.front();
    job.down = header(net::MessageKind::Forward, h.step, h.micro_batch, k + 1);
    for (auto d : result.output.activations.shape) job.down.shape.push_back(static_cast<std::uint64_t>(d));
    job.blob = result.output.activations.bytes;
    const auto token_bytes = tokens_to_bytes(input.tokens);
    job.blob.insert(job.blob.end(), token_bytes.begin(), token_bytes.end());
    job.down_meta = {{"attempt", attempt}, {"from", wallet::to_hex(key.public_key())}, {"batch", input.batch},
                     {"sequence", input.sequence}, {"route", json::array()}};
    for (std::size_t i = 1; i < route.size(); ++i) job.down_meta["route"].push_back(hop_json(route[i]));
    if (queue > 0) job.down_meta["queue"] = queue;
    return job;
  }

  // The next stage's Backward reply to job.down. Stage mutex held.
  void forward_land(ForwardJob& job, const Reply& reply, const Sent& sent) {
    const int k = stage_index;
    const auto& next = *job.next;
    job.t_down = Clock::now();
    if (job.attempt != active_attempt) throw std::invalid_argument("step attempt was abandoned");
    work.bytes_sent += static_cast<std::int64_t>(sent.bytes);
    work.bytes_received += static_cast<std::int64_t>(reply.envelope.blob.size());
    check_receipt(reply.envelope.meta, next, job.down, protocol::Direction::Forward, k, sent.hash);
    if (const auto found = reply.envelope.meta.find("receipts"); found != reply.envelope.meta.end()) {
      if (!found->is_array() || found->size() > static_cast<std::size_t>(manifest.stages))
        throw PeerFailure(next.key, "peer " + short_key(next.key) + " relayed malformed receipts");
      job.receipts = *found;
    }
    job.chain_loss = reply.envelope.meta.value("loss", 0.0);
    job.forward_bytes =
        reply.envelope.meta.value("forward_bytes", 0.0) + static_cast<double>(job.result.output.activations.bytes.size());
    engine::Payload gradient{codec, job.result.output.activations.shape, reply.envelope.blob};
    job.t_check = Clock::now();
    try {
      job.back = stage->backward(job.h.micro_batch, gradient);
    } catch (const std::invalid_argument& bad) {
      throw PeerFailure(next.key, std::string("gradient from ") + short_key(next.key) + " rejected: " + bad.what());
    }
    job.t_back = Clock::now();
    // Acknowledge the gradient payload we received. The receipt goes to its sender by way of the
    // driver, which hands each replica its receipts with the step's Reduce: no round trip here.
    job.receipts.push_back(wallet::to_hex(
        sign(reply.header, protocol::Direction::Backward, next.key, k + 1, job.result.metrics["tokens"]).encode()));
  }

  // Stage mutex held.
  Out forward_reply(ForwardJob& job) {
    const int k = stage_index;
    const auto& h = job.h;
    if (k > 0) owed_receipts[h.micro_batch] = job.from;  // our gradient goes back to `from`, who owes a receipt
    const auto us = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
    };
    spdlog::debug("timing forward mb {}: forward {} us, downstream {} us, receipt check {} us, backward {} us, reply {} us",
                  h.micro_batch, us(job.t0, job.t_forward), us(job.t_forward, job.t_down), us(job.t_down, job.t_check),
                  us(job.t_check, job.t_back), us(job.t_back, Clock::now()));
    work.flops += job.back.metrics["flops"];
    work.device_seconds += job.back.metrics["device_seconds"];
    Out out;
    out.header = header(net::MessageKind::Backward, h.step, h.micro_batch, k);
    for (auto d : job.back.grad_input.shape) out.header.shape.push_back(static_cast<std::uint64_t>(d));
    out.meta = {{"attempt", job.attempt}, {"loss", job.chain_loss}, {"forward_bytes", job.forward_bytes}};
    if (!job.receipts.empty()) out.meta["receipts"] = std::move(job.receipts);
    if (k > 0)
      out.meta["receipt"] =
          wallet::to_hex(sign(h, protocol::Direction::Forward, job.from, k - 1, job.result.metrics["tokens"]).encode());
    out.blob = std::move(job.back.grad_input.bytes);
    return out;
  }

  // A Forward request, checked (stage, sender key against the connection, input, route, codec,
  // queue) and begun. Stage mutex held.
  ForwardJob begin_forward_request(const net::Incoming& in, const Envelope& envelope) {
    const auto& h = in.message.header;
    const auto& meta = envelope.meta;
    const int k = stage_index;
    if (h.stage != k) throw std::invalid_argument("this node serves stage " + std::to_string(k));
    const auto attempt = meta_u64(meta, "attempt");
    const auto from = wallet::fixed_from_hex<32>(meta.value("from", std::string()));
    if (!from) throw std::invalid_argument("forward without a sender key");
    if (k > 0 && net::curve_public_from(*from) != in.peer)
      throw std::invalid_argument("the sender key does not match the connection's key");
    const auto input = forward_input(h, envelope, h.micro_batch, "forward");
    const auto route = hops_from(meta.value("route", json::array()));
    if (h.codec != static_cast<std::uint8_t>(codec)) throw std::invalid_argument("payload codec differs from the run's");
    return forward_begin(h, attempt, *from, input, route, in.message.payload.size(), queue_of(meta));
  }

  Out handle_forward(const net::Incoming& in, const Envelope& envelope) {
    auto job = begin_forward_request(in, envelope);
    if (job.next) {
      Sent sent;
      const auto timeout = options.hop_timeout * (manifest.stages - 1 - stage_index + job.queue);
      const auto reply = call_or_fail(*job.next, job.down, job.down_meta, job.blob, timeout, net::MessageKind::Backward, &sent);
      forward_land(job, reply, sent);
    }
    return forward_reply(job);
  }

  // The Backward receipts this replica is owed for the gradients it sent this attempt, delivered
  // by the driver with Reduce: exactly one per micro-batch, signed by the node the gradient went
  // to. A missing or wrong one fails the attempt (blaming that node), so no receipt is lost.
  void accept_backward_receipts(const json& meta) {
    const auto found = meta.find("receipts");
    const json none = json::array();
    const json& list = found == meta.end() ? none : *found;
    if (!list.is_array()) throw std::invalid_argument("malformed receipts");
    std::map<std::uint32_t, protocol::SignedReceipt> got;
    for (const auto& item : list) {
      const auto raw = item.is_string() ? wallet::from_hex(item.get<std::string>()) : std::nullopt;
      const auto receipt = raw ? protocol::SignedReceipt::decode(*raw) : std::nullopt;
      if (!receipt) throw std::invalid_argument("malformed receipt");
      const auto& r = receipt->receipt;
      const auto owed = owed_receipts.find(r.micro_batch);
      if (owed == owed_receipts.end() || got.count(r.micro_batch))
        throw std::invalid_argument("a receipt for micro-batch " + std::to_string(r.micro_batch) + " this replica is not owed");
      if (r.run_id != manifest.run_id || r.step != active_step || r.direction != protocol::Direction::Backward ||
          r.sender != key.public_key() || r.stage != stage_index || r.receiver != owed->second ||
          !protocol::verify_receipt(*receipt))
        throw PeerFailure(owed->second, "peer " + short_key(owed->second) + " signed a receipt that does not match this node's work");
      got.emplace(r.micro_batch, *receipt);
    }
    for (const auto& [micro_batch, peer] : owed_receipts)
      if (!got.count(micro_batch))
        throw PeerFailure(peer, "no receipt from " + short_key(peer) + " for micro-batch " + std::to_string(micro_batch));
    for (auto& [micro_batch, receipt] : got) pending.push_back(std::move(receipt));
    owed_receipts.clear();
  }

  const std::vector<float>& take_snapshot() {
    if (!snapshot) snapshot = stage->gradient_vector();
    return *snapshot;
  }

  Out handle_reduce(const net::Incoming& in, const Envelope& envelope) {
    const auto& h = in.message.header;
    const auto attempt = meta_u64(envelope.meta, "attempt");
    const auto contributors = hops_from(envelope.meta.value("contributors", json::array()));
    if (contributors.empty()) throw std::invalid_argument("reduce without contributors");
    enter_attempt(attempt, h.step);
    accept_backward_receipts(envelope.meta);
    const auto me = key.public_key();
    if (!(contributors.size() == 1 && contributors.front().key == me)) {
      std::vector<float> total;
      for (const auto& hop : contributors) {
        std::vector<float> part;
        if (hop.key == me) {
          part = take_snapshot();
        } else {
          auto reply = call_or_fail(hop, header(net::MessageKind::GradFetch, h.step, 0, stage_index), {{"attempt", attempt}},
                                    {}, options.hop_timeout, net::MessageKind::Gradient);
          auto values = bytes_to_floats(reply.envelope.blob);
          if (!values || values->size() != static_cast<std::size_t>(stage->parameter_count()))
            throw PeerFailure(hop.key, "gradient from " + short_key(hop.key) + " has the wrong size");
          part = std::move(*values);
        }
        if (total.empty()) total = std::move(part);
        else
          for (std::size_t i = 0; i < total.size(); ++i) total[i] += part[i];
      }
      take_snapshot();
      try {
        stage->set_gradient_vector(total);
      } catch (const std::invalid_argument& bad) {
        throw std::invalid_argument(std::string("summed gradient rejected: ") + bad.what());
      }
    }
    Out out;
    out.header = header(net::MessageKind::GradNorm, h.step, 0, stage_index);
    // In a subspace run this norm is final for stages > 0 only: stage 0 counts the shared
    // embeddings, whose gradient is summed over all stages afterwards (handle_shared_gradient).
    out.meta = {{"attempt", attempt}, {"norm_squared", stage->grad_norm_squared()}};
    if (envelope.meta.value("send_shared", false)) {
      if (stage->shared_embedding_size() == 0) throw std::invalid_argument("this stage holds no shared embeddings");
      out.blob = floats_to_bytes(stage->shared_embedding_gradient());  // the replica sum's shared part
      if (in.peer != curve.public_key) work.bytes_sent += static_cast<std::int64_t>(out.blob.size());
    }
    return out;
  }

  // Subspace runs: the shared embedding gradient summed over all stages (in stage order, by the
  // driver) replaces this replica's part; the answer is the norm the driver clips by.
  Out handle_shared_gradient(const net::Incoming& in, const Envelope& envelope) {
    const auto& h = in.message.header;
    const auto attempt = meta_u64(envelope.meta, "attempt");
    if (attempt != active_attempt || h.step != active_step)
      throw std::invalid_argument("shared embedding gradient for a step attempt this replica is not in");
    auto values = bytes_to_floats(envelope.blob);
    if (!values) throw std::invalid_argument("shared embedding gradient is not a float vector");
    stage->set_shared_embedding_gradient(*values);  // checks the length and finiteness
    if (in.peer != curve.public_key) work.bytes_received += static_cast<std::int64_t>(envelope.blob.size());
    Out out;
    out.header = header(net::MessageKind::GradNorm, h.step, 0, stage_index);
    out.meta = {{"attempt", attempt}, {"norm_squared", stage->grad_norm_squared()}};
    return out;
  }

  Out handle_grad_fetch(const net::Incoming& in, const Envelope& envelope) {
    if (meta_u64(envelope.meta, "attempt") != active_attempt || in.message.header.step != active_step)
      throw std::invalid_argument("no gradient for that step attempt here");
    Out out;
    out.header = header(net::MessageKind::Gradient, in.message.header.step, 0, stage_index);
    out.blob = floats_to_bytes(take_snapshot());
    return out;
  }

  Out handle_step(const net::Incoming& in, const Envelope& envelope) {
    const auto& h = in.message.header;
    const auto attempt = meta_u64(envelope.meta, "attempt");
    if (attempt != active_attempt || h.step != active_step || stage->step_count() != static_cast<std::int64_t>(h.step))
      throw std::invalid_argument("step commit for an attempt this replica is not in");
    settle_log(true);  // the previous step's rows are durable before this step is acknowledged
    const double norm = envelope.meta.value("norm", -1.0);
    const auto t0 = Clock::now();
    auto metrics = stage->step(norm);
    const auto t1 = Clock::now();
    commit(h.step, envelope.meta);
    spdlog::debug("timing step {}: optimizer {} us, log commit {} us", h.step,
                  std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count(),
                  std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t1).count());
    Out out;
    out.header = header(net::MessageKind::Ack, h.step, 0, stage_index);
    out.meta = {{"lr", metrics["lr"]}};
    return out;
  }

  void commit(std::uint64_t step_number, const json& meta) {
    std::vector<ledger::Record> records;
    std::string ids;
    for (const auto& receipt : pending) {
      const auto& r = receipt.receipt;
      ledger::ReceiptRecord row;
      row.receipt_id = receipt.id();
      row.run = r.run_id;
      row.step = static_cast<std::int64_t>(r.step);
      row.micro_batch = r.micro_batch;
      row.stage = r.stage;
      row.sender = wallet::to_hex(r.sender);
      row.receiver = wallet::to_hex(r.receiver);
      row.tokens = r.tokens;
      row.payload_hash.assign(r.payload_hash.begin(), r.payload_hash.end());
      row.raw = receipt.encode();
      ids += (ids.empty() ? "" : ",") + row.receipt_id;
      records.push_back(std::move(row));
    }
    if (work.micro_batches > 0) {
      ledger::WorkRecord row;
      row.session_id = session_id;
      row.run = manifest.run_id;
      row.step = static_cast<std::int64_t>(step_number);
      row.stage = stage_index;
      row.micro_batches = work.micro_batches;
      row.tokens = static_cast<std::int64_t>(work.tokens);
      row.flops = work.flops;
      row.device_seconds = work.device_seconds;
      row.energy_joules = work.device_seconds * (options.device == "cpu" ? 15.0 : 250.0);  // rough: watts busy
      row.codec = engine::codec_name(codec);
      row.bytes_sent = work.bytes_sent;
      row.bytes_received = work.bytes_received;
      row.receipt_ids = ids;
      records.push_back(std::move(row));
    }
    // Made durable while the next step runs (its micro-batches do not wait on the fsync): the rows
    // are durable before this node acknowledges the next Step or leaves, and the receipts reach the
    // hub only once they are. A crash before that loses this step's rows and nothing the hub has.
    if (!records.empty()) {
      std::lock_guard lock(log_mutex);
      log_in_flight = ledger->submit(std::move(records));
      log_in_flight_receipts = pending;
    }
    const auto now = Clock::now();
    {
      std::lock_guard lock(status_mutex);
      ++counters.committed_steps;
      step = static_cast<std::int64_t>(step_number) + 1;
      if (meta.contains("loss") && meta["loss"].is_number()) loss = meta["loss"].get<double>();
      if (meta.contains("bytes_per_token") && meta["bytes_per_token"].is_number())
        bytes_per_token = meta["bytes_per_token"].get<double>();
      if (last_commit != Clock::time_point{}) {
        const double seconds = std::chrono::duration<double>(now - last_commit).count();
        if (seconds > 0) step_rate = step_rate == 0 ? 1.0 / seconds : 0.7 * step_rate + 0.3 / seconds;
        tokens_per_s = step_rate * meta.value("step_tokens", 0.0);
      }
      last_commit = now;
    }
    if (events && now - last_step_event > 500ms) {
      last_step_event = now;
      events->publish("step", {{"step", step_number + 1}, {"loss", meta.value("loss", 0.0)}});
    }
    pending.clear();
    owed_receipts.clear();
    work = {};
    snapshot.reset();
    active_attempt = 0;
  }

  // Finishes the last committed step's log append: waits for it when `wait`, else only if it is
  // done; then hands its receipts to the outbox. Throws when the append failed (the receipts are
  // dropped with the rows: neither the log nor the hub has them).
  void settle_log(bool wait) {
    std::lock_guard lock(log_mutex);
    if (!log_in_flight) return;
    if (!wait && log_in_flight->wait_for(0ms) != std::future_status::ready) return;
    auto done = std::move(*log_in_flight);
    log_in_flight.reset();
    auto receipts = std::move(log_in_flight_receipts);
    log_in_flight_receipts.clear();
    done.get();
    {
      std::lock_guard outbox_lock(outbox_mutex);
      outbox.insert(outbox.end(), receipts.begin(), receipts.end());
    }
    std::lock_guard status_lock(status_mutex);
    counters.receipts_logged += receipts.size();
  }

  Out handle_abort(const net::Incoming& in, const Envelope& envelope) {
    const auto attempt = meta_u64(envelope.meta, "attempt");
    aborted.insert(attempt);
    while (aborted.size() > 1000) aborted.erase(aborted.begin());
    if (attempt == active_attempt) {
      stage->discard_step();
      pending.clear();
      owed_receipts.clear();
      work = {};
      snapshot.reset();
      active_attempt = 0;
    }
    Out out;
    out.header = header(net::MessageKind::Ack, in.message.header.step, 0, stage_index);
    return out;
  }

  Out handle_ping(const net::Incoming& in) {
    const auto mine = static_cast<std::uint64_t>(stage->step_count());
    if (mine < in.message.header.step) need_resync = true;
    Out out;
    out.header = header(net::MessageKind::Pong, mine, 0, stage_index);
    bool is_paused;
    {
      std::lock_guard lock(status_mutex);
      is_paused = state == "paused" || state == "snoozed";
    }
    out.meta = {{"step", mine}, {"paused", is_paused}};
    return out;
  }

  Out handle_state_request(const net::Incoming& in, const Envelope& envelope) {
    const auto transfer = envelope.meta.value("transfer", std::uint64_t{0});
    const auto offset = envelope.meta.value("offset", std::uint64_t{0});
    if (transfer == 0 || transfer != transfer_id) {
      if (offset != 0) throw std::invalid_argument("state transfer expired: start again");
      const auto file = options.data_dir / "state-out.pt";
      stage->save(file);
      std::ifstream stream(file, std::ios::binary);
      transfer_bytes.assign(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
      std::filesystem::remove(file);
      transfer_id = random_u64() | 1;
    }
    if (offset > transfer_bytes.size()) throw std::invalid_argument("state offset past the end");
    const auto length = std::min<std::size_t>(kStateChunk, transfer_bytes.size() - offset);
    Out out;
    out.header = header(net::MessageKind::StateChunk, static_cast<std::uint64_t>(stage->step_count()), 0, stage_index);
    out.meta = {{"transfer", transfer_id}, {"offset", offset}, {"total", transfer_bytes.size()}};
    out.blob.assign(transfer_bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                    transfer_bytes.begin() + static_cast<std::ptrdiff_t>(offset + length));
    (void)in;
    return out;
  }

  Out handle_infer(const net::Incoming& in, const Envelope& envelope) {
    const auto& h = in.message.header;
    const int k = stage_index;
    if (h.stage != k) throw std::invalid_argument("this node serves stage " + std::to_string(k));
    const auto input = forward_input(h, envelope, -1, "inference");
    const int batch = input.batch, sequence = input.sequence;
    const auto route = hops_from(envelope.meta.value("route", json::array()));
    if (static_cast<int>(route.size()) != manifest.stages - 1 - k) throw std::invalid_argument("route does not reach the last stage");
    Out out;
    out.header = header(net::MessageKind::Logits, h.step, 0, k);
    if (k == manifest.stages - 1) {
      out.blob = floats_to_bytes(stage->last_position_logits(input));
      return out;
    }
    auto result = stage->evaluate(input);
    auto down = header(net::MessageKind::Infer, h.step, 0, k + 1);
    for (auto d : result.output.activations.shape) down.shape.push_back(static_cast<std::uint64_t>(d));
    std::vector<std::uint8_t> blob = result.output.activations.bytes;
    const auto token_bytes = tokens_to_bytes(input.tokens);
    blob.insert(blob.end(), token_bytes.begin(), token_bytes.end());
    json meta{{"batch", batch}, {"sequence", sequence}, {"route", json::array()}};
    for (std::size_t i = 1; i < route.size(); ++i) meta["route"].push_back(hop_json(route[i]));
    auto reply = call_or_fail(route.front(), down, meta, blob, options.hop_timeout * (manifest.stages - 1 - k),
                              net::MessageKind::Logits);
    out.blob = std::move(reply.envelope.blob);
    return out;
  }

  // A request's envelope, checked to be for this run; `request` gets its id as soon as it is known,
  // so that even a refusal is answered to the right request.
  Envelope open_request(const net::Incoming& in, std::optional<json>& request) const {
    auto envelope = unpack(in.message.payload);
    if (!envelope) throw std::invalid_argument("malformed payload envelope");
    if (envelope->meta.contains("request")) request = envelope->meta["request"];
    if (in.message.header.run_id != manifest.run_id) throw std::invalid_argument("this node serves run " + manifest.run_id);
    return std::move(*envelope);
  }

  // Runs one request and always produces a reply (an Error on any failure).
  Out dispatch(const net::Incoming& in) {
    const auto& h = in.message.header;
    std::optional<json> request;
    try {
      auto envelope = open_request(in, request);
      std::lock_guard lock(stage_mutex);
      if (!stage) throw std::invalid_argument("this node has no stage yet");
      Out out;
      switch (h.kind) {
        case net::MessageKind::Forward: out = handle_forward(in, envelope); break;
        case net::MessageKind::Reduce: out = handle_reduce(in, envelope); break;
        case net::MessageKind::GradFetch: out = handle_grad_fetch(in, envelope); break;
        case net::MessageKind::Step: out = handle_step(in, envelope); break;
        case net::MessageKind::SharedGradient: out = handle_shared_gradient(in, envelope); break;
        case net::MessageKind::Abort: out = handle_abort(in, envelope); break;
        case net::MessageKind::Ping: out = handle_ping(in); break;
        case net::MessageKind::StateRequest: out = handle_state_request(in, envelope); break;
        case net::MessageKind::Infer: out = handle_infer(in, envelope); break;
        default: throw std::invalid_argument(std::string("unexpected message kind ") + net::kind_name(h.kind));
      }
      if (request) out.meta["request"] = *request;
      return out;
    } catch (const PeerFailure& failure) {
      return error_out(h, failure.what(), &failure.peer, request);
    } catch (const std::exception& error) {
      {
        std::lock_guard lock(status_mutex);
        ++counters.rejected;
      }
      spdlog::warn("refused a {} request: {}", net::kind_name(h.kind), error.what());
      return error_out(h, error.what(), nullptr, request);
    }
  }

  Out error_out(const net::MessageHeader& h, const std::string& message, const wallet::PublicKey* failed,
                const std::optional<json>& request) const {
    Out out;
    out.header = header(net::MessageKind::Error, h.step, h.micro_batch, std::max(0, stage_index.load()));
    out.meta = {{"message", message}};
    if (failed) out.meta["failed_peer"] = wallet::to_hex(*failed);
    if (request) out.meta["request"] = *request;
    return out;
  }

  // The driver's own stage is served by a direct call, exactly as a remote one would be.
  Reply local(net::MessageHeader h, json meta, std::span<const std::uint8_t> blob) {
    net::Incoming in;
    in.peer = curve.public_key;
    meta["request"] = 0;
    in.message.payload = pack(meta, blob);
    h.payload_bytes = in.message.payload.size();
    h.payload_hash = net::payload_hash(in.message.payload);
    in.message.header = h;
    auto out = dispatch(in);
    Reply reply;
    reply.header = out.header;
    reply.envelope.meta = std::move(out.meta);
    reply.envelope.blob = std::move(out.blob);
    return reply;
  }

  // --- the stage server --------------------------------------------------------------------

  // A Forward this stage (not the last) has passed on to the next stage and not yet answered. The
  // server does not wait for the answer: it takes the next request meanwhile (the driver keeps every
  // micro-batch of the step in flight, so the next one is usually queued), so this stage's work
  // overlaps the next stage's. Answers are landed strictly in the order the Forwards came in, so
  // every stage runs its backwards in the order of its forwards; with one replica per stage that is
  // micro-batch order, and the gradients are the in-process pipeline's.
  struct Passed {
    net::Incoming in;  // the routing id and header the answer goes back with (payload dropped)
    std::optional<json> request;
    ForwardJob job;
    Sent sent;
    std::uint64_t downstream_request = 0;
    Link* link = nullptr;
    net::Timeout timeout{0};
    Clock::time_point deadline;
  };
  struct ServerState {
    std::deque<Passed> passed;
    std::map<wallet::PublicKey, Link> links;  // to the next stage's replicas
  };

  void answer(const net::Incoming& in, Out out, const std::optional<json>& request) {
    if (request) out.meta["request"] = *request;
    server->reply(in, out.header, pack(out.meta, out.blob), 5s);
  }

  // Answers (with an error) and forgets the passed Forwards `which` selects.
  template <typename Which>
  void fail_passed(ServerState& relay, const Which& which, const std::string& message, const wallet::PublicKey* failed) {
    for (auto it = relay.passed.begin(); it != relay.passed.end();) {
      if (!which(*it)) {
        ++it;
        continue;
      }
      try {
        answer(it->in, error_out(it->in.message.header, message, failed, it->request), it->request);
      } catch (const std::exception& error) {
        spdlog::debug("stage server: {}", error.what());
      }
      it = relay.passed.erase(it);
    }
  }

  static void drop_link(Link* link) {
    link->client.reset();  // late answers go with it
    link->early.clear();
  }

  // A Forward to a stage that has a next stage: forward, pass it on, answer later (land_passed).
  void begin_passed(ServerState& relay, net::Incoming in) {
    const auto h = in.message.header;
    std::optional<json> request;
    try {
      auto envelope = open_request(in, request);
      const auto attempt = meta_u64(envelope.meta, "attempt");
      // Forwards of an attempt the driver has given up on are answered now, so they do not hold
      // up the new attempt's answers.
      fail_passed(relay, [&](const Passed& p) { return p.job.attempt != attempt; }, "step attempt was superseded", nullptr);
      Passed passed;
      {
        std::lock_guard lock(stage_mutex);
        if (!stage) throw std::invalid_argument("this node has no stage yet");
        passed.job = begin_forward_request(in, envelope);
      }
      auto& link = open_link(relay.links, *passed.job.next);
      passed.timeout = options.hop_timeout * (manifest.stages - 1 - stage_index + passed.job.queue);
      passed.downstream_request = post(link, passed.job.down, passed.job.down_meta, passed.job.blob, passed.timeout, passed.sent);
      passed.deadline = Clock::now() + passed.timeout;
      passed.link = &link;
      passed.request = request;
      in.message.payload.clear();
      in.message.payload.shrink_to_fit();
      passed.in = std::move(in);
      relay.passed.push_back(std::move(passed));
    } catch (const PeerFailure& failure) {
      answer(in, error_out(h, failure.what(), &failure.peer, request), request);
    } catch (const std::exception& error) {
      {
        std::lock_guard lock(status_mutex);
        ++counters.rejected;
      }
      spdlog::warn("refused a {} request: {}", net::kind_name(h.kind), error.what());
      answer(in, error_out(h, error.what(), nullptr, request), request);
    }
  }

  // Lands the oldest passed Forwards whose answers are in, in order; fails the oldest when its
  // next stage is past the deadline.
  void land_passed(ServerState& relay) {
    while (!relay.passed.empty()) {
      auto& front = relay.passed.front();
      Link* link = front.link;
      const auto found = link->client ? link->early.find(front.downstream_request) : link->early.end();
      if (found == link->early.end()) {
        if (link->client && Clock::now() < front.deadline) return;
        const auto peer = link->hop.key;
        fail_passed(relay, [&](const Passed& p) { return p.link == link; }, "peer " + short_key(peer) + " did not answer", &peer);
        drop_link(link);
        continue;
      }
      Reply reply = std::move(found->second);
      link->early.erase(link->early.begin(), std::next(found));  // and anything older: stale
      Out out;
      try {
        reply = expect(link->hop, std::move(reply), net::MessageKind::Backward);
        std::lock_guard lock(stage_mutex);
        forward_land(front.job, reply, front.sent);
        out = forward_reply(front.job);
      } catch (const PeerFailure& failure) {
        out = error_out(front.in.message.header, failure.what(), &failure.peer, front.request);
      } catch (const std::exception& error) {
        {
          std::lock_guard lock(status_mutex);
          ++counters.rejected;
        }
        spdlog::warn("refused a forward answer: {}", error.what());
        out = error_out(front.in.message.header, error.what(), nullptr, front.request);
      }
      try {
        answer(front.in, std::move(out), front.request);
      } catch (const std::exception& error) {
        spdlog::debug("stage server: {}", error.what());
      }
      relay.passed.pop_front();
      // The next one has been at the next stage at most since this one came back.
      if (!relay.passed.empty()) {
        auto& next = relay.passed.front();
        next.deadline = std::max(next.deadline, Clock::now() + next.timeout);
      }
    }
  }

  void serve() {
    ServerState relay;
    while (serving) {
      try {
        std::vector<zmq::pollitem_t> items{{server->poll_handle(), 0, ZMQ_POLLIN, 0}};
        std::vector<Link*> polled;
        for (auto& [peer, link] : relay.links)
          if (link.client) {
            items.push_back({link.client->poll_handle(), 0, ZMQ_POLLIN, 0});
            polled.push_back(&link);
          }
        auto wait = std::chrono::milliseconds(200);
        if (!relay.passed.empty())
          wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(relay.passed.front().deadline - Clock::now()) +
                                1ms,
                            0ms, wait);
        zmq::poll(items.data(), items.size(), wait);
        for (std::size_t i = 0; i < polled.size(); ++i) {
          if (!(items[i + 1].revents & ZMQ_POLLIN)) continue;
          auto& link = *polled[i];
          while (auto message = link.client->receive(0ms)) {
            auto envelope = unpack(message->payload);
            if (!envelope) continue;
            const auto id = envelope->meta.value("request", std::uint64_t{0});
            link.early.insert_or_assign(id, Reply{std::move(message->header), std::move(*envelope)});
          }
        }
        land_passed(relay);
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        auto in = server->receive(0ms);
        if (!in) continue;
        const auto kind = in->message.header.kind;
        if (kind == net::MessageKind::Forward && stage_index >= 0 && stage_index < manifest.stages - 1) {
          begin_passed(relay, std::move(*in));
          continue;
        }
        const auto out = dispatch(*in);
        server->reply(*in, out.header, pack(out.meta, out.blob), 5s);
        if (kind == net::MessageKind::Abort) {  // its passed Forwards are answered now
          const auto envelope = unpack(in->message.payload);
          const auto attempt = envelope ? envelope->meta.value("attempt", std::uint64_t{0}) : 0;
          fail_passed(relay, [&](const Passed& p) { return p.job.attempt == attempt; }, "step attempt was abandoned", nullptr);
        }
      } catch (const std::exception& error) {  // EINTR from a signal, a peer gone mid-reply
        spdlog::debug("stage server: {}", error.what());
      }
    }
  }

  // --- hub thread ----------------------------------------------------------------------------

  void refresh_peers() {
    auto list = hub->peers();
    std::set<net::CurvePublicKey> keys;
    try {
      keys.insert(net::curve_public_from(manifest.hub_key));
    } catch (const std::exception&) {
    }
    for (const auto& peer : list) {
      try {
        keys.insert(net::curve_public_from(peer.node_key));
      } catch (const std::exception&) {
      }
    }
    allowlist->replace(std::move(keys));
    std::lock_guard lock(peers_mutex);
    peers = std::move(list);
  }

  void report_receipts() {
    try {
      settle_log(false);
    } catch (const std::exception& error) {
      spdlog::error("could not log a step's work: {}", error.what());
    }
    std::vector<protocol::SignedReceipt> batch;
    {
      std::lock_guard lock(outbox_mutex);
      const auto n = std::min(outbox.size(), kReceiptBatch);
      batch.assign(outbox.begin(), outbox.begin() + static_cast<std::ptrdiff_t>(n));
    }
    if (batch.empty()) return;
    const auto result = hub->report_receipts(key, batch);
    {
      std::lock_guard lock(outbox_mutex);
      outbox.erase(outbox.begin(), outbox.begin() + static_cast<std::ptrdiff_t>(batch.size()));
    }
    if (result.contains("rejected") && !result["rejected"].empty())
      spdlog::warn("the hub rejected {} receipts: {}", result["rejected"].size(), result["rejected"].dump());
    std::lock_guard lock(status_mutex);
    counters.receipts_reported += batch.size();
  }

  void hub_loop() {
    while (serving) {
      try {
        if (!hub->heartbeat(key)) rejoin = true;
        refresh_peers();
        report_receipts();
      } catch (const std::exception& error) {
        spdlog::warn("hub: {}", error.what());
      }
      poll_statements();
      std::unique_lock lock(wake_mutex);
      wake.wait_for(lock, std::min<std::chrono::milliseconds>(options.heartbeat_every, 500ms), [this] { return !serving; });
    }
  }

  // After each epoch: fetch the owner's statement and proof, verify, record (StatementSync).
  void poll_statements() {
    if (!statements || Clock::now() < next_statement_poll) return;
    const auto epoch_ms = std::max<std::int64_t>(manifest.epoch_seconds, 1) * 1000;
    next_statement_poll = Clock::now() + std::chrono::milliseconds(std::clamp<std::int64_t>(epoch_ms / 4, 500, 30000));
    try {
      const auto check = statements->poll();
      using Outcome = client::StatementCheck::Outcome;
      if (check.outcome == Outcome::Verified) {
        spdlog::info("{}", check.message);
        if (events) events->publish("statement", {{"epoch", check.epoch}, {"verified", true}, {"message", check.message}});
      } else if (check.outcome == Outcome::Rejected) {
        spdlog::error("{}", check.message);
        if (events) events->publish("error", {{"message", check.message}});
      }
    } catch (const std::exception& error) {
      spdlog::warn("statements: {}", error.what());
    }
  }

  std::vector<protocol::PeerInfo> known_peers() {
    std::lock_guard lock(peers_mutex);
    return peers;
  }

  // --- state transfer --------------------------------------------------------------------------

  // Downloads this stage's state from a live replica (never the hub, never another stage).
  bool fetch_state(const std::atomic<bool>& stop) {
    auto list = known_peers();
    std::vector<protocol::PeerInfo> replicas;
    for (const auto& peer : list)
      if (peer.ready() && peer.stage == stage_index && peer.node_key != key.public_key()) replicas.push_back(peer);
    if (replicas.empty()) return false;
    for (const auto& replica : replicas) {
      if (stop) return false;
      const Hop hop{replica.node_key, replica.endpoint};
      std::vector<std::uint8_t> bytes;
      std::uint64_t transfer = 0, total = 1;
      try {
        while (bytes.size() < total) {
          // The replica admits us once its allowlist has caught up with the hub (about a second);
          // a refused handshake is not retried by ZeroMQ, so the first request is short.
          const auto timeout = transfer == 0 ? net::Timeout(3000) : options.hop_timeout * manifest.stages;
          auto reply = call_or_fail(hop, header(net::MessageKind::StateRequest, 0, 0, stage_index),
                                    {{"transfer", transfer}, {"offset", bytes.size()}}, {}, timeout,
                                    net::MessageKind::StateChunk);
          transfer = meta_u64(reply.envelope.meta, "transfer");
          total = meta_u64(reply.envelope.meta, "total");
          if (meta_u64(reply.envelope.meta, "offset") != bytes.size() || total > (8ull << 30))
            throw PeerFailure(hop.key, "state chunk out of order");
          if (reply.envelope.blob.empty() && bytes.size() < total) throw PeerFailure(hop.key, "empty state chunk");
          bytes.insert(bytes.end(), reply.envelope.blob.begin(), reply.envelope.blob.end());
        }
        const auto file = options.data_dir / "state-in.pt";
        {
          std::ofstream out(file, std::ios::binary | std::ios::trunc);
          out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
          if (!out) throw std::runtime_error("cannot write " + file.string());
        }
        {
          std::lock_guard lock(stage_mutex);
          stage->discard_step();
          active_attempt = 0;
          pending.clear();
          owed_receipts.clear();
          stage->load(file);  // checks stage, model and format
        }
        std::filesystem::remove(file);
        spdlog::info("stage {} state at step {} fetched from replica {} ({} bytes)", stage_index.load(),
                     stage->step_count(), short_key(replica.node_key), bytes.size());
        std::lock_guard lock(status_mutex);
        step = stage->step_count();
        return true;
      } catch (const std::exception& error) {
        spdlog::warn("state from replica {} failed: {}", short_key(replica.node_key), error.what());
      }
    }
    return false;
  }

  // --- the driver ------------------------------------------------------------------------------

  bool suspected(const wallet::PublicKey& peer) {
    const auto found = suspects.find(peer);
    if (found == suspects.end()) return false;
    if (Clock::now() > found->second) {
      suspects.erase(found);
      return false;
    }
    return true;
  }

  void suspect(const wallet::PublicKey& peer, const std::string& why) {
    if (peer == key.public_key()) return;
    spdlog::warn("leaving peer {} out for now: {}", short_key(peer), why);
    suspects[peer] = Clock::now() + options.suspect_for;
    if (events) events->publish("peer", {{"peer", wallet::to_hex(peer)}, {"event", "failed"}, {"reason", why}});
  }

  bool is_driver(const std::vector<protocol::PeerInfo>& list) {
    for (const auto& peer : list)  // ready order, oldest first
      if (peer.ready() && peer.stage == 0 && !suspected(peer.node_key)) return peer.node_key == key.public_key();
    return false;
  }

  Reply send(const Hop& hop, const net::MessageHeader& h, const json& meta, std::span<const std::uint8_t> blob,
             net::Timeout timeout, net::MessageKind expected) {
    if (hop.key == key.public_key()) {
      auto reply = local(h, meta, blob);
      if (reply.header.kind == net::MessageKind::Error) {
        wallet::PublicKey failed = key.public_key();
        if (auto k = wallet::fixed_from_hex<32>(reply.envelope.meta.value("failed_peer", std::string()))) failed = *k;
        throw PeerFailure(failed, reply.envelope.meta.value("message", std::string("error")));
      }
      return reply;
    }
    return call_or_fail(hop, h, meta, blob, timeout, expected);
  }

  void abort_attempt(std::uint64_t attempt, std::uint64_t step_number, const std::vector<Hop>& participants) {
    for (const auto& hop : participants) {
      spdlog::debug("abort to {}{}", short_key(hop.key), hop.key == key.public_key() ? " (self)" : "");
      try {
        send(hop, header(net::MessageKind::Abort, step_number, 0, 0), {{"attempt", attempt}}, {}, 2s,
             net::MessageKind::Ack);
      } catch (const std::exception&) {
      }
    }
    std::lock_guard lock(status_mutex);
    ++counters.aborted_steps;
  }

  // The step's micro-batches, as a pipeline schedule with every micro-batch of the step in flight.
  // Micro-batch m goes to stage 0's replica m mod R. The driver first sends the others' micro-batches
  // to their stage-0 replicas, whose stage servers pass each on at once, then runs its own forwards
  // one after another and passes each on as soon as it is computed. So the later stages always have
  // their next micro-batch queued and stage 0 never waits on a round trip while there is forward work
  // left (F0 F1 F2 F3 B0 B1 B2 B3 with one replica per stage). A stage holds at most the step's
  // micro-batches at once, which is what a Stage budgets its memory for (StageOptions::in_flight 0)
  // and what the hub's memory fit counts. Every stage runs its forwards and its backwards in the order
  // the forwards reach it (requests on one connection arrive in order, and stage servers land answers
  // in that order): with one replica per stage that is micro-batch order, so the gradients are the
  // in-process pipeline's. With several replicas of a stage before the last, a later stage can take
  // micro-batches out of order, so a micro-batch may wait there for up to `queue` others: each of
  // its hops gets that many more hop times. The answers are absorbed in micro-batch order.
  template <typename RouteOf, typename Absorb>
  void drive_micro_batches(std::uint64_t step_number, std::uint64_t attempt, const std::vector<Hop>& first_stage,
                           int queue, const RouteOf& route_of, const Absorb& absorb) {
    const auto& train = manifest.train;
    const int count = manifest.stages;
    struct Flight {
      bool here = false;  // this node's stage 0 runs the forward (job); else a stage-0 replica does
      ForwardJob job;
      std::optional<json> answered;  // a one-stage run: this node's job is done at once
      Sent sent;
      std::uint64_t request = 0;
      Link* link = nullptr;
    };
    std::map<wallet::PublicKey, Link> links;
    std::vector<Flight> flights(static_cast<std::size_t>(train.micro_batches));
    const auto launch = [&](int m, bool here) {
      const auto& first = first_stage[static_cast<std::size_t>(m) % first_stage.size()];
      if ((first.key == key.public_key()) != here) return;
      const auto ids = data->micro_batch(static_cast<std::int64_t>(step_number), m, train.micro_batches, train.micro_batch_size);
      const auto h = header(net::MessageKind::Forward, step_number, static_cast<std::uint32_t>(m), 0);
      auto& flight = flights[static_cast<std::size_t>(m)];
      flight.here = here;
      if (!here) {
        json meta{{"attempt", attempt}, {"from", wallet::to_hex(key.public_key())}, {"batch", train.micro_batch_size},
                  {"sequence", manifest.model.context}, {"route", json::array()}};
        for (const auto& hop : route_of(m)) meta["route"].push_back(hop_json(hop));
        if (queue > 0) meta["queue"] = queue;
        flight.link = &open_link(links, first);
        flight.request = post(*flight.link, h, meta, tokens_to_bytes(ids), options.hop_timeout * (count + queue), flight.sent);
        return;
      }
      engine::ForwardMessage input;
      input.micro_batch = m;
      input.batch = train.micro_batch_size;
      input.sequence = manifest.model.context;
      input.tokens = ids;
      {
        std::lock_guard lock(stage_mutex);
        flight.job = forward_begin(h, attempt, key.public_key(), input, route_of(m), 0, queue);
        if (!flight.job.next) flight.answered = forward_reply(flight.job).meta;
      }
      if (flight.answered) return;
      flight.link = &open_link(links, *flight.job.next);
      flight.request = post(*flight.link, flight.job.down, flight.job.down_meta, flight.job.blob,
                            options.hop_timeout * (count - 1 + queue), flight.sent);
    };
    const auto land = [&](int m) {
      auto& flight = flights[static_cast<std::size_t>(m)];
      if (flight.answered) {
        absorb(m, *flight.answered);
        return;
      }
      // From now: the micro-batch ahead of this one has just come back (or, for the first, the
      // last one was just sent), so the stages have owed this one for at most that long.
      const auto deadline = Clock::now() + options.hop_timeout * ((flight.here ? count - 1 : count) + queue);
      const auto reply = await(*flight.link, flight.request, deadline, net::MessageKind::Backward);
      if (!flight.here) {
        absorb(m, reply.envelope.meta);
        return;
      }
      Out out;
      {
        std::lock_guard lock(stage_mutex);
        forward_land(flight.job, reply, flight.sent);
        out = forward_reply(flight.job);
      }
      absorb(m, out.meta);
    };
    try {
      for (const bool here : {false, true})
        for (int m = 0; m < train.micro_batches; ++m) launch(m, here);
      for (int m = 0; m < train.micro_batches; ++m) land(m);
    } catch (const PeerFailure&) {
      throw;  // the links go with their late replies
    } catch (const std::exception& error) {  // this stage refused its own work: the attempt fails
      throw PeerFailure(key.public_key(), error.what());
    }
    for (auto& [peer, link] : links) pool->release(link.hop, std::move(link.client));  // only when all answered
  }

  // One step attempt. Returns true when committed.
  bool drive_step(const std::vector<protocol::PeerInfo>& list, std::uint64_t step_number) {
    // A step's time counts its pings, and when it follows a committed step straight away also the
    // time since that one was reported (the report itself, the loop between steps).
    const auto started = last_step_end != Clock::time_point{} && Clock::now() - last_step_end < 1s ? last_step_end : Clock::now();
    last_step_end = {};
    spdlog::debug("step {}: pinging {} peers", step_number, list.size());
    const int count = manifest.stages;
    const auto& train = manifest.train;
    // Who is alive and at this step?
    std::vector<std::vector<Hop>> replicas(static_cast<std::size_t>(count));
    for (const auto& peer : list) {
      if (!peer.ready() || suspected(peer.node_key) || peer.stage < 0 || peer.stage >= count) continue;
      const Hop hop{peer.node_key, peer.endpoint};
      if (peer.node_key != key.public_key()) {
        auto reply = call(hop, header(net::MessageKind::Ping, step_number, 0, peer.stage), json::object(), {}, 2s);
        if (!reply || reply->header.kind != net::MessageKind::Pong) {
          suspect(peer.node_key, "no answer to ping");
          continue;
        }
        if (reply->header.step != step_number || reply->envelope.meta.value("paused", false)) continue;
      }
      replicas[static_cast<std::size_t>(peer.stage)].push_back(hop);
    }
    for (int k = 0; k < count; ++k) {
      if (replicas[static_cast<std::size_t>(k)].empty()) {
        set_state("waiting", "stage " + std::to_string(k) + " has no live replica at step " + std::to_string(step_number));
        return false;
      }
      std::sort(replicas[static_cast<std::size_t>(k)].begin(), replicas[static_cast<std::size_t>(k)].end(),
                [](const Hop& a, const Hop& b) { return a.key < b.key; });
    }
    set_state("running");
    spdlog::debug("step {}: replicas per stage ready ({} in sync)", step_number, [&] {
      std::size_t n = 0;
      for (const auto& r : replicas) n += r.size();
      return n;
    }());
    std::vector<Hop> participants;
    for (const auto& stage_replicas : replicas) participants.insert(participants.end(), stage_replicas.begin(), stage_replicas.end());
    const auto attempt = next_attempt++;
    const auto t_pinged = Clock::now();
    double loss_sum = 0, forward_bytes = 0, tokens = 0;
    std::map<wallet::PublicKey, json> receipts_for;  // Backward receipts to hand to their senders
    try {
      // What every micro-batch's answer brings back: its loss, boundary bytes and the Backward
      // receipts signed along its route, which go to their senders with Reduce.
      const auto absorb = [&](int m, const json& answer) {
        loss_sum += answer.value("loss", 0.0);
        forward_bytes += answer.value("forward_bytes", 0.0);
        tokens += static_cast<double>(train.micro_batch_size) * manifest.model.context;
        for (const auto& item : answer.value("receipts", json::array())) {
          const auto raw = item.is_string() ? wallet::from_hex(item.get<std::string>()) : std::nullopt;
          const auto receipt = raw ? protocol::SignedReceipt::decode(*raw) : std::nullopt;
          if (!receipt) {
            const auto& r1 = replicas[count > 1 ? 1 : 0];
            throw PeerFailure(r1[static_cast<std::size_t>(m) % r1.size()].key, "malformed receipt on micro-batch " + std::to_string(m));
          }
          auto& owed = receipts_for[receipt->receipt.sender];
          if (owed.is_null()) owed = json::array();
          owed.push_back(item);
        }
      };
      const auto route_of = [&](int m) {
        std::vector<Hop> route;
        for (int k = 1; k < count; ++k) {
          const auto& r = replicas[static_cast<std::size_t>(k)];
          route.push_back(r[static_cast<std::size_t>(m) % r.size()]);
        }
        return route;
      };
      // A stage after one with several replicas can take its micro-batches out of order: a micro-batch
      // may wait there for the others that replica serves (ceil(M / R) of the step's M).
      int queue = 0;
      for (int k = 1; k < count; ++k)
        if (replicas[static_cast<std::size_t>(k - 1)].size() > 1) {
          const auto r = static_cast<int>(replicas[static_cast<std::size_t>(k)].size());
          queue = std::max(queue, (train.micro_batches + r - 1) / r - 1);
        }
      drive_micro_batches(step_number, attempt, replicas[0], queue, route_of, absorb);
      const auto t_micro = Clock::now();
      spdlog::debug("step {}: micro-batches done", step_number);
      // Replicas of each stage sum their gradients; every ready replica at this step takes part.
      std::vector<double> norms(static_cast<std::size_t>(count), 0.0);
      std::vector<Hop> committers;
      std::vector<int> committer_stages;
      // Subspace runs: every stage holds the token and position embeddings, and their gradient is
      // the sum of every stage's part. The first replica of each stage sends its (replica-summed)
      // part with its norm; the driver sums the parts in stage order, as the in-process Pipeline does.
      const std::int64_t shared_size = [&] {
        std::lock_guard lock(stage_mutex);
        return stage ? stage->shared_embedding_size() : 0;
      }();
      std::vector<float> shared_sum;
      double shared_bytes = 0;
      // The stages reduce at the same time (each stage's replicas only fetch from each other); within
      // a stage the replicas are asked one after another, so that two of them never wait on each
      // other's GradFetch. The answers are taken in stage order.
      struct StageReduce {
        double norm = 0;
        std::optional<std::vector<float>> shared;  // the stage's part of the shared embeddings' gradient
        bool shared_remote = false;
        std::vector<Hop> committers;
      };
      std::vector<std::future<StageReduce>> reductions;
      for (int k = 0; k < count; ++k) {
        const auto& r = replicas[static_cast<std::size_t>(k)];
        std::vector<Hop> contributors(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(r.size(), static_cast<std::size_t>(train.micro_batches))));
        json meta{{"attempt", attempt}, {"contributors", json::array()}};
        for (const auto& hop : contributors) meta["contributors"].push_back(hop_json(hop));
        std::vector<Hop> targets = r;
        for (const auto& peer : known_peers())  // replicas that became ready during the step
          if (peer.ready() && peer.stage == k && !suspected(peer.node_key) &&
              std::none_of(r.begin(), r.end(), [&](const Hop& h) { return h.key == peer.node_key; }))
            targets.push_back({peer.node_key, peer.endpoint});
        reductions.push_back(std::async(std::launch::async, [&, k, contributors, meta, targets]() {
          StageReduce result;
          bool have_norm = false;
          for (const auto& hop : targets) {
            const bool contributor = std::any_of(contributors.begin(), contributors.end(), [&](const Hop& h) { return h.key == hop.key; });
            const bool source = !have_norm && contributor;  // targets[0]: the first contributor
            json request = meta;
            if (source && shared_size > 0) request["send_shared"] = true;
            if (const auto found = receipts_for.find(hop.key); found != receipts_for.end()) request["receipts"] = found->second;
            try {
              auto reply = send(hop, header(net::MessageKind::Reduce, step_number, 0, k), request, {},
                                options.hop_timeout * 2, net::MessageKind::GradNorm);
              if (source) {
                result.norm = reply.envelope.meta.value("norm_squared", 0.0);
                have_norm = true;
                if (shared_size > 0) {
                  result.shared = bytes_to_floats(reply.envelope.blob);
                  if (!result.shared || result.shared->size() != static_cast<std::size_t>(shared_size))
                    throw PeerFailure(hop.key, "shared embedding gradient from " + short_key(hop.key) + " has the wrong size");
                  result.shared_remote = hop.key != key.public_key();
                }
              }
              result.committers.push_back(hop);
            } catch (const PeerFailure&) {
              if (contributor) throw;  // a newcomer that is not in sync simply stays out
            } catch (const std::exception& error) {  // a malformed answer (a norm that is not a number…)
              if (contributor) throw PeerFailure(hop.key, "peer " + short_key(hop.key) + " answered Reduce wrongly: " + error.what());
            }
          }
          return result;
        }));
      }
      std::optional<PeerFailure> reduce_failure;
      for (int k = 0; k < count; ++k) {
        StageReduce result;
        try {
          result = reductions[static_cast<std::size_t>(k)].get();  // every task is waited for
        } catch (const PeerFailure& failure) {
          if (!reduce_failure) reduce_failure = failure;  // suspected where the attempt is abandoned
          else suspect(failure.peer, failure.what());
          continue;
        }
        norms[static_cast<std::size_t>(k)] = result.norm;
        if (result.shared) {
          if (result.shared_remote) shared_bytes += static_cast<double>(result.shared->size() * sizeof(float));
          if (shared_sum.empty()) shared_sum = std::move(*result.shared);
          else
            for (std::size_t i = 0; i < shared_sum.size(); ++i) shared_sum[i] += (*result.shared)[i];
        }
        for (auto& hop : result.committers) {
          committers.push_back(std::move(hop));
          committer_stages.push_back(k);
        }
      }
      if (reduce_failure) throw *reduce_failure;
      const auto t_reduced = Clock::now();
      spdlog::debug("step {}: reduced", step_number);
      if (shared_size > 0) {
        // Every committer installs the sum; the first replica of each stage answers the norm to
        // clip by (stage 0's now counts the summed shared part, the others' do not change).
        const auto blob = floats_to_bytes(shared_sum);
        const json shared_meta{{"attempt", attempt}};
        std::vector<std::future<std::variant<double, PeerFailure>>> answers;
        for (std::size_t i = 0; i < committers.size(); ++i)
          answers.push_back(std::async(std::launch::async, [&, i]() -> std::variant<double, PeerFailure> {
            try {
              auto reply = send(committers[i], header(net::MessageKind::SharedGradient, step_number, 0, committer_stages[i]),
                                shared_meta, blob, options.hop_timeout, net::MessageKind::GradNorm);
              return reply.envelope.meta.value("norm_squared", 0.0);
            } catch (const PeerFailure& failure) {
              return failure;
            }
          }));
        std::vector<Hop> installed;
        std::vector<bool> norm_taken(static_cast<std::size_t>(count), false);
        std::optional<PeerFailure> fatal;
        for (std::size_t i = 0; i < committers.size(); ++i) {
          const auto k = static_cast<std::size_t>(committer_stages[i]);
          const bool source = !norm_taken[k];  // committers keep each stage's targets order
          norm_taken[k] = true;
          auto answer = answers[i].get();
          if (auto* failure = std::get_if<PeerFailure>(&answer)) {
            if (source && !fatal) fatal = *failure;  // the stage's norm is missing: abort the attempt
            else if (!source) suspect(failure->peer, failure->what());  // it will resync
            continue;
          }
          if (source) norms[k] = std::get<double>(answer);
          if (committers[i].key != key.public_key()) shared_bytes += static_cast<double>(blob.size());
          installed.push_back(committers[i]);
        }
        if (fatal) throw *fatal;
        committers = std::move(installed);
        spdlog::debug("step {}: shared embedding gradients summed over {} stages ({} bytes on the wire)", step_number,
                      count, shared_bytes);
      }
      double squared = 0;
      for (const double n : norms) squared += n;
      const double norm = std::sqrt(squared);
      const double loss_mean = loss_sum / train.micro_batches;
      const double per_token = count > 1 && tokens > 0 ? forward_bytes / (count - 1) / tokens : 0.0;
      json meta{{"attempt", attempt}, {"norm", norm}, {"loss", loss_mean}, {"bytes_per_token", per_token},
                {"step_tokens", tokens}};
      // Every participant steps and makes its log rows durable at the same time, not one after another.
      std::vector<std::future<std::optional<PeerFailure>>> commits;
      for (const auto& hop : committers)
        commits.push_back(std::async(std::launch::async, [&, hop]() -> std::optional<PeerFailure> {
          try {
            send(hop, header(net::MessageKind::Step, step_number, 0, 0), meta, {}, options.hop_timeout, net::MessageKind::Ack);
          } catch (const PeerFailure& failure) {
            return failure;
          }
          return std::nullopt;
        }));
      for (auto& commit : commits)
        if (auto failure = commit.get()) suspect(failure->peer, failure->what());  // it will resync
      const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      const auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
      spdlog::debug("timing step {}: {:.1f} ms: since the last step and pings {:.1f}, micro-batches {:.1f}, reduce {:.1f}, shared and commit {:.1f}", step_number,
                    seconds * 1000, ms(started, t_pinged), ms(t_pinged, t_micro), ms(t_micro, t_reduced), ms(t_reduced, Clock::now()));
      try {
        hub->report_progress(key, {{"step", step_number + 1}, {"loss", loss_mean}, {"tokens", tokens},
                                   {"seconds", seconds}, {"bytes_per_token", per_token}, {"grad_norm", norm},
                                   {"replicas", participants.size()}, {"shared_embedding_bytes", shared_bytes}});
      } catch (const std::exception& error) {
        spdlog::warn("progress report: {}", error.what());
      }
      last_step_end = Clock::now();
      return true;
    } catch (const PeerFailure& failure) {
      suspect(failure.peer, failure.what());
      abort_attempt(attempt, step_number, participants);
      if (events) events->publish("error", {{"message", std::string("step abandoned, retrying: ") + failure.what()}});
      return false;
    }
  }

  std::optional<std::string> pause_cause() {
    {
      std::lock_guard lock(status_mutex);
      if (paused) return reason.empty() ? std::string("paused by the user") : reason;
      if (Clock::now() < snoozed_until) return std::string("snoozed");
    }
    if (pause_hook) return pause_hook();
    return std::nullopt;
  }
};

SwarmNode::SwarmNode(const wallet::KeyPair& node_key, wallet::Delegation delegation, SwarmNodeOptions options,
                     EventBus* events)
    : impl_(std::make_unique<Impl>(node_key, std::move(delegation), std::move(options), events)) {}

SwarmNode::~SwarmNode() {
  auto& s = *impl_;
  s.serving = false;
  s.wake.notify_all();
  if (s.server_thread.joinable()) s.server_thread.join();
  if (s.hub_thread.joinable()) s.hub_thread.join();
}

void SwarmNode::set_pause_reason(std::function<std::optional<std::string>()> hook) {
  std::lock_guard lock(impl_->status_mutex);
  impl_->pause_hook = std::move(hook);
}

void SwarmNode::set_paused(bool paused, std::string reason) {
  std::lock_guard lock(impl_->status_mutex);
  impl_->paused = paused;
  if (!paused) impl_->snoozed_until = {};
  if (paused) impl_->reason = std::move(reason);
}

void SwarmNode::snooze(std::chrono::seconds duration) {
  std::lock_guard lock(impl_->status_mutex);
  impl_->snoozed_until = Clock::now() + duration;
}

void SwarmNode::set_threads(int threads) { impl_->options.threads = threads; }

void SwarmNode::run(const std::atomic<bool>& stop) {
  auto& s = *impl_;
  s.set_state("joining");
  s.hub = std::make_unique<client::HubClient>(s.options.hub_url, s.options.hub_timeout);
  s.manifest = s.hub->manifest();
  s.codec = engine::parse_codec(s.manifest.codec);
  s.curve = net::curve_keys_from(s.key);
  s.context = std::make_unique<zmq::context_t>(1);
  s.zap = std::make_unique<net::ZapHandler>(*s.context, s.allowlist);
  s.server = std::make_unique<net::Server>(*s.context, s.curve, s.options.listen);
  s.pool = std::make_unique<ClientPool>(*s.context, s.curve);
  std::filesystem::create_directories(s.options.data_dir);
  s.ledger_file = s.options.data_dir / std::string(ledger::kDefaultFileName);
  s.ledger = std::make_unique<ledger::LedgerWriter>(s.ledger_file, s.key);
  s.session_id = random_hex(8);
  s.statements = std::make_unique<client::StatementSync>(s.options.hub_url, s.manifest.run_id, s.manifest.hub_key,
                                                         s.delegation.owner_address, *s.ledger, s.options.hub_timeout);

  protocol::JoinRequest join;
  join.delegation = s.delegation;
  join.endpoint = s.server->endpoint();
  join.device.name = s.options.device;
  join.device.memory_bytes = 64ull << 30;
  const int index = s.hub->join(s.key, join);
  engine::StageOptions stage_options;
  stage_options.model = s.manifest.model;
  stage_options.train = s.manifest.train;
  stage_options.stage_count = s.manifest.stages;
  stage_options.stage_index = index;
  stage_options.codec = s.codec;
  stage_options.device = s.options.device;
  stage_options.threads = s.options.threads;
  s.stage = std::make_unique<engine::Stage>(stage_options);
  s.stage_index = index;
  s.ledger->append(ledger::SessionRecord{0, s.session_id, "start", s.manifest.run_id,
                                         s.options.device + " stage " + std::to_string(index), s.options.power_profile});
  spdlog::info("joined run {} as stage {} of {}, serving at {} (node {})", s.manifest.run_id, index, s.manifest.stages,
               join.endpoint, short_key(s.key.public_key()));
  if (s.events) s.events->publish("peer", {{"event", "joined"}, {"stage", index}});

  s.serving = true;
  s.server_thread = std::thread([&s] { s.serve(); });
  s.refresh_peers();
  // A replica of a stage that already has live replicas starts from theirs (never from the hub,
  // never another stage's); the first replica of a stage starts from the run's seed.
  const auto has_replica = [&] {
    for (const auto& peer : s.known_peers())
      if (peer.ready() && peer.stage == index && peer.node_key != s.key.public_key()) return true;
    return false;
  };
  if (has_replica()) std::this_thread::sleep_for(700ms);  // the replicas' allowlists refresh every 500 ms
  while (!stop && has_replica() && !s.fetch_state(stop)) {
    std::this_thread::sleep_for(500ms);
    s.refresh_peers();
  }
  s.hub->ready(s.key);
  s.refresh_peers();
  s.hub_thread = std::thread([&s] { s.hub_loop(); });
  {
    std::lock_guard lock(s.status_mutex);
    s.step = s.stage->step_count();
  }
  s.set_state("waiting", "looking for the other stages");
  const auto joined_at = Clock::now();

  while (!stop) {
    if (s.rejoin.exchange(false)) {
      spdlog::warn("the hub forgot this node; joining again");
      try {
        const int again = s.hub->join(s.key, join);
        if (again != index) throw std::runtime_error("the hub moved this node to another stage; restart it");
        s.need_resync = true;
        s.hub->ready(s.key);
      } catch (const std::exception& error) {
        s.set_state("error", error.what());
        std::this_thread::sleep_for(1s);
        continue;
      }
    }
    if (s.need_resync.exchange(false)) {
      if (!s.fetch_state(stop)) std::this_thread::sleep_for(200ms);
      continue;
    }
    const auto list = s.known_peers();
    const auto step_number = static_cast<std::uint64_t>([&] {
      std::lock_guard lock(s.stage_mutex);
      return s.stage->step_count();
    }());
    if (s.options.stop_after_steps > 0 && stats().committed_steps >= static_cast<std::uint64_t>(s.options.stop_after_steps)) break;
    if (static_cast<std::int64_t>(step_number) >= s.manifest.train.total_steps) {
      s.set_state("waiting", "the run's " + std::to_string(s.manifest.train.total_steps) + " steps are done");
      std::this_thread::sleep_for(200ms);
      continue;
    }
    if (auto why = s.pause_cause()) {
      bool snoozed;
      {
        std::lock_guard lock(s.status_mutex);
        snoozed = Clock::now() < s.snoozed_until;
      }
      s.set_state(snoozed ? "snoozed" : "paused", *why);
      std::this_thread::sleep_for(200ms);
      continue;
    }
    if (s.stage_index != 0 || !s.is_driver(list)) {
      const auto last = [&] {
        std::lock_guard lock(s.status_mutex);
        return s.last_commit;
      }();
      if (last != Clock::time_point{} && Clock::now() - last < 10s)
        s.set_state("running");
      else
        s.set_state("waiting", "waiting for the step driver and the other stages");
      std::this_thread::sleep_for(100ms);
      continue;
    }
    if (s.options.wait_for_peers > 0 && step_number == 0 && Clock::now() - joined_at < 60s &&
        std::count_if(list.begin(), list.end(), [](const protocol::PeerInfo& p) { return p.ready(); }) < s.options.wait_for_peers) {
      s.set_state("waiting", "waiting for " + std::to_string(s.options.wait_for_peers) + " peers to be ready");
      std::this_thread::sleep_for(100ms);
      continue;
    }
    if (!s.data) s.data.emplace(engine::DataSource::from_spec(s.manifest.dataset.empty() ? "arithmetic" : s.manifest.dataset.front(),
                                                              s.manifest.model.context, s.manifest.model.seed));
    if (!s.drive_step(list, step_number)) std::this_thread::sleep_for(100ms);
  }

  // Leave cleanly: make the last step's rows durable, report what is left, tell the hub, stop.
  s.set_state("waiting", "stopping");
  try {
    s.settle_log(true);
  } catch (const std::exception& error) {
    spdlog::error("could not log the last step's work: {}", error.what());
  }
  try {
    s.report_receipts();
    s.hub->leave(s.key);
  } catch (const std::exception& error) {
    spdlog::warn("leaving the hub: {}", error.what());
  }
  s.serving = false;
  s.wake.notify_all();
  if (s.server_thread.joinable()) s.server_thread.join();
  if (s.hub_thread.joinable()) s.hub_thread.join();
  try {
    s.settle_log(true);  // a Step the server took while we were leaving
    s.report_receipts();
  } catch (const std::exception& error) {
    spdlog::warn("last receipts: {}", error.what());
  }
  s.ledger->append(ledger::SessionRecord{0, s.session_id, "stop", s.manifest.run_id, s.options.device, s.options.power_profile});
}

nlohmann::json SwarmNode::status() const {
  const auto& s = *impl_;
  std::lock_guard lock(s.status_mutex);
  json out{{"state", s.state},
           {"reason", s.reason},
           {"network", s.options.hub_url},
           {"run", s.manifest.run_id},
           {"stage", s.stage_index.load()},
           {"stages", s.manifest.stages},
           {"step", s.step},
           {"step_rate", s.step_rate},
           {"loss", std::isnan(s.loss) ? json(nullptr) : json(s.loss)},
           {"tokens_per_s", s.tokens_per_s},
           {"device", s.options.device},
           {"temperature_c", nullptr},
           {"codec", s.manifest.codec},
           {"bytes_per_token", s.bytes_per_token},
           {"ledger", s.ledger_file.string()}};
  {
    std::lock_guard peers_lock(s.peers_mutex);
    out["peers"] = s.peers.size();
  }
  return out;
}

SwarmStats SwarmNode::stats() const {
  std::lock_guard lock(impl_->status_mutex);
  auto out = impl_->counters;
  if (impl_->server) out.malformed = impl_->server->stats().malformed;
  return out;
}

std::string SwarmNode::endpoint() const { return impl_->server ? impl_->server->endpoint() : std::string(); }
int SwarmNode::stage() const { return impl_->stage_index; }
std::filesystem::path SwarmNode::ledger_path() const { return impl_->ledger_file; }

}  // namespace tessera::node
