// What a hub's HTTP server answered, counted by outcome, and its refusals logged without letting a
// client flood the log: at most `lines_per_minute` refusal lines a minute, then one line saying how
// many were left out. GET /api/health serves the counts; a climbing "malformed" or "too_large" is
// someone probing the hub.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace tessera::hub {

class RequestStats {
 public:
  explicit RequestStats(std::string server_name, int lines_per_minute = 20)
      : name_(std::move(server_name)), lines_per_minute_(lines_per_minute) {}

  // Counts one answered request and logs it if it was refused (status 400 and above).
  void record(const httplib::Request& request, const httplib::Response& response);
  // {"served", "malformed", "unauthenticated", "forbidden", "not_found", "too_large", "rate_limited",
  //  "other_refused", "failed"}: served is 1xx-3xx, failed 5xx, the rest by 4xx status.
  nlohmann::json to_json() const;
  // Refusals written to the log, and refusals left out of it by the rate limit.
  std::uint64_t logged() const { return logged_; }
  std::uint64_t unlogged() const { return unlogged_total_; }

 private:
  enum Outcome { Served, Malformed, Unauthenticated, Forbidden, NotFound, TooLarge, RateLimited, OtherRefused, Failed, Count };
  static Outcome outcome_of(int status);
  bool may_log(std::chrono::steady_clock::time_point now);

  std::string name_;
  int lines_per_minute_;
  std::array<std::atomic<std::uint64_t>, Count> counts_{};
  std::atomic<std::uint64_t> logged_{0};
  std::atomic<std::uint64_t> unlogged_total_{0};
  std::mutex log_mutex_;
  std::chrono::steady_clock::time_point window_start_{};
  int lines_in_window_ = 0;
  std::uint64_t left_out_in_window_ = 0;
};

}  // namespace tessera::hub
