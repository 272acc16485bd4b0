// A member of a run played by a test: it joins the hub with its own key (and gets ready when told),
// heartbeats, and answers what reaches its stage server over CurveZMQ with whatever the test says
// (or not at all). The hostile peers of the swarm tests are these; the nodes they talk to are real.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <zmq.hpp>

#include "core/client/hub_client.h"
#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"
#include "core/net/zap.h"
#include "core/wallet/delegation.h"

namespace tessera::test {

class FakePeer {
 public:
  struct Answer {
    net::MessageHeader header;
    net::Envelope envelope;
  };
  // What to answer a request with; nothing: stay silent.
  using Answering = std::function<std::optional<Answer>(const net::Incoming&, const net::Envelope&)>;

  FakePeer(std::string hub_url, const wallet::KeyPair& owner) : hub_(std::move(hub_url)) {
    delegation_ = wallet::sign_delegation(owner, key.public_key(), wallet::kAnyRun, 4102444800);
    zap_ = std::make_unique<net::ZapHandler>(context_, allowlist_);
    server_ = std::make_unique<net::Server>(context_, curve_, "tcp://127.0.0.1:0");
  }
  ~FakePeer() {
    running_ = false;
    if (server_thread_.joinable()) server_thread_.join();
    if (heartbeats_.joinable()) heartbeats_.join();
  }

  // Lets `node` connect to this peer's server (the nodes the test runs).
  void admit(const wallet::PublicKey& node) { allowlist_->allow(net::curve_public_from(node)); }

  // Joins (the stage the hub chose) and starts heartbeating and serving.
  int join(Answering answering) {
    set_answering(std::move(answering));
    stage = hub_.join(key, {delegation_, server_->endpoint(), {"cpu", 1ull << 34, 0}});
    running_ = true;
    heartbeats_ = std::thread([this] {
      while (running_) {
        try {
          hub_.heartbeat(key);
        } catch (const std::exception&) {
        }
        for (int i = 0; i < 6 && running_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    server_thread_ = std::thread([this] { serve(); });
    return stage;
  }
  void ready() { hub_.ready(key); }
  void leave() { hub_.leave(key); }
  void set_answering(Answering answering) {
    std::lock_guard lock(mutex_);
    answering_ = std::move(answering);
  }
  // This member's hub-signed assignment (hex), from its last join or heartbeat reply.
  std::string assignment() const { return hub_.named().assignment; }
  // A connection to a node's stage server as this member.
  std::unique_ptr<net::Client> connect(const wallet::PublicKey& node, const std::string& endpoint) {
    return std::make_unique<net::Client>(context_, curve_, net::curve_public_from(node), endpoint);
  }
  std::uint64_t requests_of(net::MessageKind kind) const { return seen_[static_cast<std::size_t>(kind)]; }

  // A request as this member; the answer's kind (its envelope in `answer`, if wanted).
  static net::MessageKind ask(net::Client& client, net::MessageHeader h, const net::Envelope& message,
                              net::Envelope* answer = nullptr) {
    static std::atomic<std::uint64_t> request{5000};
    auto meta = message.meta;
    meta["request"] = ++request;
    const auto reply = client.request(h, net::pack(meta, message.blob), std::chrono::seconds(10));
    if (!reply) return net::MessageKind::Receipt;  // no answer: a kind no request is answered with
    if (answer) *answer = net::unpack(reply->payload).value_or(net::Envelope{});
    return reply->header.kind;
  }

  wallet::KeyPair key = wallet::KeyPair::generate();
  int stage = -1;

 private:
  void serve() {
    while (running_) {
      std::optional<net::Incoming> in;
      try {
        in = server_->receive(std::chrono::milliseconds(100));
      } catch (const std::exception&) {
      }
      if (!in) continue;
      seen_[static_cast<std::size_t>(in->message.header.kind)]++;
      auto envelope = net::unpack(in->message.payload);
      if (!envelope) continue;
      Answering answering;
      {
        std::lock_guard lock(mutex_);
        answering = answering_;
      }
      auto out = answering ? answering(*in, *envelope) : std::nullopt;
      if (!out) continue;
      if (envelope->meta.contains("request")) out->envelope.meta["request"] = envelope->meta["request"];
      try {
        server_->reply(*in, out->header, net::pack(out->envelope.meta, out->envelope.blob), std::chrono::seconds(2));
      } catch (const std::exception&) {
      }
    }
  }

  client::HubClient hub_;
  wallet::Delegation delegation_;
  zmq::context_t context_{1};
  net::CurveKeyPair curve_ = net::curve_keys_from(key);
  std::shared_ptr<net::PeerAllowlist> allowlist_ = std::make_shared<net::PeerAllowlist>();
  std::unique_ptr<net::ZapHandler> zap_;
  std::unique_ptr<net::Server> server_;
  std::mutex mutex_;
  Answering answering_;
  std::atomic<bool> running_{false};
  std::array<std::atomic<std::uint64_t>, 256> seen_{};
  std::thread heartbeats_;
  std::thread server_thread_;
};

// The header of an answer from a stage-`stage` peer of `run` at `step`.
inline net::MessageHeader answer_header(const std::string& run, net::MessageKind kind, std::uint64_t step, int stage) {
  net::MessageHeader h;
  h.kind = kind;
  h.run_id = run;
  h.step = step;
  h.stage = static_cast<std::uint16_t>(stage);
  return h;
}

}  // namespace tessera::test
