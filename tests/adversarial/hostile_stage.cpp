// The hostile stage server (see hostile_stage.h).
#include "tests/adversarial/hostile_stage.h"

#include <zmq.hpp>

#include "core/net/curve.h"
#include "core/net/endpoint.h"

namespace tessera::adversarial {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kHoldAtMost = 2500ms;  // the driver's deadline for a hop is longer (3 s a stage in the demo)

}  // namespace

HostileStage::HostileStage(const wallet::KeyPair& identity, std::string run_id)
    : run_id_(std::move(run_id)),
      context_(std::make_unique<zmq::context_t>()),
      allowlist_(std::make_shared<net::PeerAllowlist>()) {
  zap_ = std::make_unique<net::ZapHandler>(*context_, allowlist_);
  server_ = std::make_unique<net::Server>(*context_, net::curve_keys_from(identity), "tcp://127.0.0.1:0");
  thread_ = std::thread([this] { serve(); });
}

HostileStage::~HostileStage() {
  stop_ = true;
  release();
  if (thread_.joinable()) thread_.join();
  server_.reset();
  zap_.reset();
}

std::string HostileStage::endpoint() const { return server_->endpoint(); }

void HostileStage::allow(const std::vector<protocol::PeerInfo>& peers) {
  std::set<net::CurvePublicKey> keys;
  for (const auto& peer : peers) {
    try {
      keys.insert(net::curve_public_from(peer.node_key));
    } catch (const std::exception&) {
    }
  }
  allowlist_->replace(std::move(keys));
}

void HostileStage::take_part() { taking_part_ = true; }

void HostileStage::answer_forwards_with(net::ErrorReply error) {
  std::lock_guard lock(mutex_);
  answer_ = std::move(error);
}

std::optional<ForwardSeen> HostileStage::wait_for_forward(std::chrono::milliseconds deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, deadline, [this] { return held_.has_value(); });
  return held_;
}

void HostileStage::release() {
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  changed_.notify_all();
}

void HostileStage::serve() {
  while (!stop_) {
    std::optional<net::Incoming> in;
    try {
      in = server_->receive(100ms);
    } catch (const std::exception&) {
      continue;
    }
    if (!in) continue;
    const auto& h = in->message.header;
    auto envelope = net::unpack(in->message.payload);
    net::MessageHeader out;
    out.run_id = run_id_;
    out.step = h.step;
    out.stage = h.stage;
    net::Envelope reply;
    if (h.kind == net::MessageKind::Ping) {
      out.kind = net::MessageKind::Pong;
      reply = net::PongReply{h.step, !taking_part_}.encode();
    } else if (h.kind == net::MessageKind::Abort) {
      out.kind = net::MessageKind::Ack;
      reply = net::AckReply{}.encode();
    } else {
      out.kind = net::MessageKind::Error;
      if (h.kind == net::MessageKind::Forward && taking_part_ && envelope) {
        ++forwards_;
        try {
          const auto forward = net::ForwardRequest::decode(*envelope);
          std::unique_lock lock(mutex_);
          held_ = ForwardSeen{forward.attempt, h.step, h.micro_batch, forward.input.route};
          changed_.notify_all();
          changed_.wait_for(lock, kHoldAtMost, [this] { return released_ || stop_.load(); });
        } catch (const std::exception&) {
        }
      }
      std::lock_guard lock(mutex_);
      reply = answer_.encode();
    }
    if (envelope && envelope->meta.contains("request")) reply.meta["request"] = envelope->meta["request"];
    const auto payload = net::pack(reply.meta, reply.blob);
    try {
      server_->reply(*in, out, payload, 2000ms);
    } catch (const std::exception&) {
    }
  }
}

}  // namespace tessera::adversarial
