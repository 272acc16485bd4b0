// Greedy generation through the swarm on a thread of its own.
#include "core/demo/background_inference.h"

#include <algorithm>
#include <string>

namespace tessera::demo {

BackgroundInference::BackgroundInference(const hub::PeerDirectory& directory, const protocol::RunManifest& manifest,
                                         const wallet::KeyPair& hub_key)
    : swarm_(directory, manifest, hub_key), context_(manifest.model.context), thread_([this] { run(); }) {}

BackgroundInference::~BackgroundInference() { stop(); }

void BackgroundInference::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

nlohmann::json BackgroundInference::summary() const {
  std::lock_guard lock(mutex_);
  return {{"rounds", rounds_.load()}, {"tokens", tokens_.load()}, {"errors", errors_.load()}, {"last_error", last_error_}};
}

void BackgroundInference::run() {
  const std::string prompts[2] = {"12+34=", "7*8="};
  std::vector<hub::SequenceWindow> round;
  std::uint64_t session = 1;
  const auto reset = [&](std::size_t i) {
    round[i] = {session++, std::vector<std::int32_t>(prompts[i].begin(), prompts[i].end())};
  };
  round.resize(2);
  reset(0);
  reset(1);
  while (!stop_) {
    const auto answers = swarm_.next_logits(round, std::chrono::seconds(10));
    rounds_ += 1;
    for (std::size_t i = 0; i < round.size(); ++i) {
      if (!answers[i].error.empty()) {
        errors_ += 1;
        std::lock_guard lock(mutex_);
        last_error_ = answers[i].error;
        continue;
      }
      tokens_ += 1;
      const auto& logits = answers[i].logits;
      round[i].tokens.push_back(static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      if (static_cast<int>(round[i].tokens.size()) >= context_) {
        swarm_.end_sequence(round[i].session);
        reset(i);
      }
    }
    if (answers[0].error.size() + answers[1].error.size() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace tessera::demo
