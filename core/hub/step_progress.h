// The steps the step driver reported (shown by demo, bench and monitors): the latest `window`
// of them and the count of all, so a hub that trains for months holds the same memory as one
// that trained for an hour. Not durable: a restarted hub counts from its restart. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::hub {

class StepProgress {
 public:
  explicit StepProgress(std::size_t window = 10000) : window_(window == 0 ? 1 : window) {}

  void add(nlohmann::json step);

  struct Page {
    std::vector<nlohmann::json> steps;
    std::uint64_t first = 0;  // the number (0-based) of steps.front()
    std::uint64_t total = 0;  // every step reported since the hub started
  };
  // Kept steps from number `since` on (from the oldest kept when that one is gone), at most `limit`.
  Page since(std::uint64_t since, std::size_t limit) const;
  std::vector<nlohmann::json> kept() const;

 private:
  std::size_t window_;
  mutable std::mutex mutex_;
  std::deque<nlohmann::json> steps_;
  std::uint64_t total_ = 0;
};

}  // namespace tessera::hub
