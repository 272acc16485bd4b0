// Continuous batching for the gateway: every running completion asks for its next token's logits
// from its own thread, and one thread sends all that were asked since its last round to the
// source as one round (NextTokenSource::next_logits: one forward per stage for all of them).
// Completions join and leave between tokens: a sequence that arrives during a round goes into the
// next. A round waits for the sequences of the last one to ask again (each samples its token and
// sends it to its client in between) only up to `linger`, so a slow client costs the others that
// much at most, and the rounds stay whole instead of breaking into ones of a sequence or two.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/hub/next_token_source.h"

namespace tessera::hub {

class DecodeBatcher {
 public:
  // `source` must outlive the batcher; `max_round` sequences at most go into one round.
  DecodeBatcher(NextTokenSource& source, std::size_t max_round, std::chrono::milliseconds timeout,
                std::chrono::microseconds linger = std::chrono::microseconds(3000));
  // Stops the round thread; whoever still waits gets an error.
  ~DecodeBatcher();
  DecodeBatcher(const DecodeBatcher&) = delete;
  DecodeBatcher& operator=(const DecodeBatcher&) = delete;

  // Blocks until the round that carries `window` is answered; its error (not empty) when the
  // source could not answer for it.
  NextLogits next(std::uint64_t session, std::vector<std::int32_t> window);
  // The sequence is finished: the source hears of it before the next round.
  void end(std::uint64_t session);

  struct Stats {
    std::uint64_t rounds = 0;
    std::uint64_t sequences = 0;  // over all rounds: sequences / rounds is the mean round size
  };
  Stats stats() const;

 private:
  struct Waiter {
    SequenceWindow window;
    NextLogits answer;
    bool answered = false;
  };
  void run();
  // Lock held: every sequence of the last round that is still generating has asked again.
  bool all_back() const;
  // Tells the source, never throwing (the round thread must not die).
  void end_all(const std::vector<std::uint64_t>& sessions);
  // One round: the waiters taken from the queue, answered together.
  void answer(std::vector<Waiter*>& round);

  NextTokenSource& source_;
  const std::size_t max_round_;
  const std::chrono::milliseconds timeout_;
  const std::chrono::microseconds linger_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;      // the round thread: something queued, or stopping
  std::condition_variable answered_;  // the waiters: a round is answered
  std::deque<Waiter*> queue_;
  std::vector<std::uint64_t> ended_;
  std::set<std::uint64_t> active_;  // in a round before, not ended since
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace tessera::hub
