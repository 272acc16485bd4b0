// Request outcome counters and the rate-limited refusal log (see request_stats.h).
#include "core/hub/request_stats.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

namespace tessera::hub {
namespace {

// What a client sent, made safe to print: printable ASCII only, and not much of it.
std::string printable(const std::string& text, std::size_t max) {
  std::string out;
  for (const char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > max) out += "…";
  return out;
}

}  // namespace

RequestStats::Outcome RequestStats::outcome_of(int status) {
  if (status < 400) return Served;
  switch (status) {
    case 400: return Malformed;
    case 401: return Unauthenticated;
    case 403: return Forbidden;
    case 404: return NotFound;
    case 411: case 413: case 415: return TooLarge;
    case 429: return RateLimited;
    default: return status >= 500 ? Failed : OtherRefused;
  }
}

bool RequestStats::may_log(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(log_mutex_);
  if (now - window_start_ >= std::chrono::minutes(1)) {
    if (left_out_in_window_ > 0)
      spdlog::warn("{}: {} more refused requests in the last minute were not logged", name_, left_out_in_window_);
    window_start_ = now;
    lines_in_window_ = 0;
    left_out_in_window_ = 0;
  }
  if (lines_in_window_ < lines_per_minute_) {
    ++lines_in_window_;
    return true;
  }
  ++left_out_in_window_;
  return false;
}

void RequestStats::record(const httplib::Request& request, const httplib::Response& response) {
  const auto outcome = outcome_of(response.status);
  ++counts_[outcome];
  if (outcome == Served) return;
  if (!may_log(std::chrono::steady_clock::now())) {
    ++unlogged_total_;
    return;
  }
  ++logged_;
  spdlog::warn("{}: {} {} from {} refused with {}: {}", name_, printable(request.method, 16),
               printable(request.path, 120), printable(request.remote_addr, 64), response.status,
               printable(response.body, 200));
}

nlohmann::json RequestStats::to_json() const {
  static constexpr const char* kNames[Count] = {"served",    "malformed",    "unauthenticated", "forbidden", "not_found",
                                               "too_large", "rate_limited", "other_refused",   "failed"};
  nlohmann::json out = nlohmann::json::object();
  for (int i = 0; i < Count; ++i) out[kNames[i]] = counts_[static_cast<std::size_t>(i)].load();
  out["unlogged"] = unlogged_total_.load();
  return out;
}

}  // namespace tessera::hub
