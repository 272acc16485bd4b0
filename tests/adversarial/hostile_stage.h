// A hostile stage server: what a hostile member listens with once it has told the hub it is
// ready, so the step driver routes micro-batches through it. It answers Pings (as paused, so it
// is never routed, until it is told to take part), and when it takes part it holds each Forward
// it gets (learning the live attempt id, step and route) until the test has attacked with them,
// then answers as the test chose: by default an Error. Its own ZeroMQ context, ZAP handler and
// allowlist, like a node's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"
#include "core/net/zap.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/signing.h"

namespace zmq {
class context_t;
}

namespace tessera::adversarial {

// A Forward the driver sent this hostile replica.
struct ForwardSeen {
  std::uint64_t attempt = 0;
  std::uint64_t step = 0;
  std::uint32_t micro_batch = 0;
  std::vector<net::Hop> route;
};

class HostileStage {
 public:
  HostileStage(const wallet::KeyPair& identity, std::string run_id);
  ~HostileStage();
  HostileStage(const HostileStage&) = delete;
  HostileStage& operator=(const HostileStage&) = delete;

  std::string endpoint() const;  // what the hostile member joins with
  // Admits these peers' keys (the nodes that will call it), as a node's hub thread does.
  void allow(const std::vector<protocol::PeerInfo>& peers);

  // From now on Pongs say "in step, not paused", so the driver routes a micro-batch here.
  void take_part();
  // The answer to the Forwards it holds; unset: an Error naming nobody.
  void answer_forwards_with(net::ErrorReply error);
  // Waits for a held Forward; nothing by the deadline.
  std::optional<ForwardSeen> wait_for_forward(std::chrono::milliseconds deadline);
  // Answers the held Forwards (each is answered after 2.5 s anyway, inside the driver's deadline).
  void release();
  // How many Forwards it was sent while taking part.
  std::uint64_t forwards() const { return forwards_; }

 private:
  void serve();

  std::string run_id_;
  std::unique_ptr<zmq::context_t> context_;
  std::shared_ptr<net::PeerAllowlist> allowlist_;
  std::unique_ptr<net::ZapHandler> zap_;
  std::unique_ptr<net::Server> server_;
  std::atomic<bool> taking_part_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> forwards_{0};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<ForwardSeen> held_;
  bool released_ = false;
  net::ErrorReply answer_{"hostile replica: no", std::nullopt};
  std::thread thread_;
};

}  // namespace tessera::adversarial
