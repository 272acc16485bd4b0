// The gateway's round thread.
#include "core/hub/decode_batcher.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace tessera::hub {

std::vector<NextLogits> NextTokenSource::next_logits(const std::vector<SequenceWindow>& round,
                                                     std::chrono::milliseconds timeout) {
  std::vector<NextLogits> out(round.size());
  for (std::size_t i = 0; i < round.size(); ++i) {
    try {
      out[i].logits = next_token_logits(round[i].tokens, timeout);
    } catch (const std::exception& error) {
      out[i].error = error.what();
    }
  }
  return out;
}

DecodeBatcher::DecodeBatcher(NextTokenSource& source, std::size_t max_round, std::chrono::milliseconds timeout,
                             std::chrono::microseconds linger)
    : source_(source),
      max_round_(max_round < 1 ? 1 : max_round),
      timeout_(timeout),
      linger_(linger),
      thread_([this] { run(); }) {}

DecodeBatcher::~DecodeBatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

NextLogits DecodeBatcher::next(std::uint64_t session, std::vector<std::int32_t> window) {
  Waiter waiter{{session, std::move(window)}, {}, false};
  std::unique_lock lock(mutex_);
  if (stopping_) return {{}, "the gateway is stopping"};
  queue_.push_back(&waiter);
  wake_.notify_one();
  answered_.wait(lock, [&] { return waiter.answered; });
  return std::move(waiter.answer);
}

void DecodeBatcher::end(std::uint64_t session) {
  std::lock_guard lock(mutex_);
  ended_.push_back(session);
  active_.erase(session);
  wake_.notify_one();  // the round may have been waiting for it
}

bool DecodeBatcher::all_back() const {
  if (queue_.size() >= max_round_) return true;
  std::size_t back = 0;
  for (const auto* waiter : queue_) back += active_.contains(waiter->window.session) ? 1 : 0;
  return back >= active_.size();
}

DecodeBatcher::Stats DecodeBatcher::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void DecodeBatcher::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !ended_.empty(); });
    if (queue_.empty() && !stopping_) {  // only finished sequences: hand them over, no round
      auto ended = std::move(ended_);
      ended_.clear();
      lock.unlock();
      end_all(ended);
      lock.lock();
      continue;
    }
    wake_.wait_for(lock, linger_, [&] { return stopping_ || all_back(); });
    if (stopping_) break;
    std::vector<Waiter*> round;
    while (!queue_.empty() && round.size() < max_round_) {
      round.push_back(queue_.front());
      queue_.pop_front();
    }
    auto ended = std::move(ended_);
    ended_.clear();
    lock.unlock();
    end_all(ended);
    answer(round);
    lock.lock();
    for (auto* waiter : round) {
      waiter->answered = true;
      active_.insert(waiter->window.session);
    }
    for (const auto session : ended) active_.erase(session);
    stats_.rounds += 1;
    stats_.sequences += round.size();
    answered_.notify_all();
  }
  for (auto* waiter : queue_) {
    waiter->answer.error = "the gateway is stopping";
    waiter->answered = true;
  }
  queue_.clear();
  answered_.notify_all();
}

void DecodeBatcher::end_all(const std::vector<std::uint64_t>& sessions) {
  for (const auto session : sessions) {
    try {
      source_.end_sequence(session);
    } catch (const std::exception& error) {
      spdlog::warn("gateway: the swarm could not forget a finished sequence: {}", error.what());
    }
  }
}

void DecodeBatcher::answer(std::vector<Waiter*>& round) {
  std::vector<NextLogits> answers;
  try {
    std::vector<SequenceWindow> windows;
    windows.reserve(round.size());
    for (auto* waiter : round) windows.push_back(waiter->window);
    answers = source_.next_logits(windows, timeout_);
  } catch (const std::exception& error) {
    answers.assign(round.size(), NextLogits{{}, error.what()});
  }
  if (answers.size() != round.size()) {
    spdlog::error("gateway: the source answered {} of a round of {}", answers.size(), round.size());
    answers.assign(round.size(), NextLogits{{}, "the swarm's answer does not match the round"});
  }
  for (std::size_t i = 0; i < round.size(); ++i) round[i]->answer = std::move(answers[i]);
}

}  // namespace tessera::hub
