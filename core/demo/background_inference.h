// Inference while the demo trains (`tessera-node demo --infer-while-training`): a thread that
// generates greedily through the swarm's stages (SwarmInference rounds on the stages' KV caches,
// two sequences at a time) for as long as it runs, so a run shows that serving inference between
// training's micro-batches leaves training's losses and receipts exactly as they were.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/hub/swarm_inference.h"

namespace tessera::demo {

class BackgroundInference {
 public:
  BackgroundInference(const hub::PeerDirectory& directory, const protocol::RunManifest& manifest,
                      const wallet::KeyPair& hub_key);
  ~BackgroundInference();  // stops and joins
  BackgroundInference(const BackgroundInference&) = delete;
  BackgroundInference& operator=(const BackgroundInference&) = delete;

  void stop();
  // {"rounds", "tokens", "errors", "last_error"} so far.
  nlohmann::json summary() const;

 private:
  void run();

  hub::SwarmInference swarm_;
  int context_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> rounds_{0}, tokens_{0}, errors_{0};
  mutable std::mutex mutex_;
  std::string last_error_;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace tessera::demo
