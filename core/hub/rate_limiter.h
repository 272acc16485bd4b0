// Token buckets per key (a client address, a node key): each key may make `burst` requests at
// once and then `per_second` a second. The hub limits challenges and joins with them, so a flood
// from one address or one key is answered with 429 instead of work. Bounded: at `capacity` keys,
// buckets that have refilled (indistinguishable from new ones) are dropped, then the least
// recently used, so many addresses cannot grow the hub either.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace tessera::hub {

struct RateLimit {
  double per_second = 1.0;  // refill rate
  double burst = 1.0;       // bucket size: requests allowed at once
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimit limit, std::size_t capacity = 16384);

  // Nothing when `key` may go ahead (a token is spent); otherwise how long until it may.
  std::optional<std::chrono::milliseconds> acquire(const std::string& key, Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated{};
  };
  void make_room(Clock::time_point now);

  RateLimit limit_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// The key a client address is limited under: an IPv4 address as it is, an IPv6 address by its
// /64 prefix (one home network gets a whole /64, so its single addresses cost nothing to change).
std::string address_key(const std::string& remote_address);

// Spends one of `key`'s tokens, or throws net::HttpError 429 "too many <what>; try again in N s"
// with its Retry-After.
void take_token(RateLimiter& limiter, const std::string& key, const char* what);

}  // namespace tessera::hub
