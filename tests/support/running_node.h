// In-process swarm nodes for the node tests: a SwarmNode with a fresh key on its own thread,
// stopped and joined on destruction, and a poll with a deadline.
#pragma once

#include <QtGlobal>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "core/node/swarm_node.h"
#include "core/wallet/delegation.h"

namespace tessera::test {

struct RunningNode {
  wallet::KeyPair key = wallet::KeyPair::generate();
  std::unique_ptr<node::SwarmNode> node;
  std::atomic<bool> stop{false};
  std::thread thread;

  // Builds the node, delegated by `owner` for any run, and runs it until `stop`.
  void launch(const wallet::KeyPair& owner, const node::SwarmNodeOptions& options) {
    node = std::make_unique<node::SwarmNode>(
        key, wallet::sign_delegation(owner, key.public_key(), wallet::kAnyRun, 4102444800), options);
    thread = std::thread([this] {
      try {
        node->run(stop);
      } catch (const std::exception& error) {
        qWarning("node stopped: %s", error.what());
      }
    });
  }

  // Joined, with its stage's state, and past starting.
  bool ready() const {
    const auto state = node->status().state;
    return node->stage() >= 0 && state != "joining" && state != "starting" && !state.empty();
  }

  ~RunningNode() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

template <typename Condition>
bool wait_until(Condition&& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace tessera::test
