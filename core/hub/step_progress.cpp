// A bounded window of reported steps.
#include "core/hub/step_progress.h"

#include <algorithm>

namespace tessera::hub {

void StepProgress::add(nlohmann::json step) {
  std::lock_guard lock(mutex_);
  steps_.push_back(std::move(step));
  ++total_;
  while (steps_.size() > window_) steps_.pop_front();
}

StepProgress::Page StepProgress::since(std::uint64_t since, std::size_t limit) const {
  std::lock_guard lock(mutex_);
  Page page;
  page.total = total_;
  const std::uint64_t oldest = total_ - steps_.size();
  page.first = std::clamp(since, oldest, total_);
  for (auto i = page.first; i < total_ && page.steps.size() < limit; ++i) page.steps.push_back(steps_[i - oldest]);
  return page;
}

std::vector<nlohmann::json> StepProgress::kept() const {
  std::lock_guard lock(mutex_);
  return {steps_.begin(), steps_.end()};
}

}  // namespace tessera::hub
