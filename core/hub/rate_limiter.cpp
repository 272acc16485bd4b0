// Token buckets per key, bounded (see rate_limiter.h).
#include "core/hub/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "core/net/http_json.h"

namespace tessera::hub {

RateLimiter::RateLimiter(RateLimit limit, std::size_t capacity) : limit_(limit), capacity_(std::max<std::size_t>(capacity, 1)) {
  if (!(limit_.per_second > 0) || !(limit_.burst >= 1))
    throw std::invalid_argument("a rate limit needs a positive rate and a burst of at least 1");
}

std::optional<std::chrono::milliseconds> RateLimiter::acquire(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    make_room(now);
    found = buckets_.emplace(key, Bucket{limit_.burst, now}).first;
  }
  auto& bucket = found->second;
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - bucket.updated).count());
  bucket.tokens = std::min(limit_.burst, bucket.tokens + elapsed * limit_.per_second);
  bucket.updated = std::max(bucket.updated, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait_s = (1.0 - bucket.tokens) / limit_.per_second;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000.0)));
}

void RateLimiter::make_room(Clock::time_point now) {
  if (buckets_.size() < capacity_) return;
  const auto refilled = [&](const Bucket& bucket) {
    return bucket.tokens + std::chrono::duration<double>(now - bucket.updated).count() * limit_.per_second >= limit_.burst;
  };
  std::erase_if(buckets_, [&](const auto& entry) { return refilled(entry.second); });
  if (buckets_.size() < capacity_) return;
  const auto oldest = std::min_element(buckets_.begin(), buckets_.end(), [](const auto& a, const auto& b) {
    return a.second.updated < b.second.updated;
  });
  buckets_.erase(oldest);
}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::string address_key(const std::string& remote_address) {
  std::array<unsigned char, 16> bytes{};
  if (remote_address.find(':') == std::string::npos || inet_pton(AF_INET6, remote_address.c_str(), bytes.data()) != 1)
    return remote_address;
  static constexpr unsigned char kMappedV4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes.data(), kMappedV4, sizeof kMappedV4) == 0) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
    return text;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string prefix;
  for (std::size_t i = 0; i < 8; ++i) {
    prefix += kHex[bytes[i] >> 4];
    prefix += kHex[bytes[i] & 15];
  }
  return prefix + "::/64";
}

void take_token(RateLimiter& limiter, const std::string& key, const char* what) {
  const auto wait = limiter.acquire(key);
  if (!wait) return;
  const auto seconds = std::max<std::int64_t>(1, (wait->count() + 999) / 1000);
  throw net::HttpError(429, std::string("too many ") + what + "; try again in " + std::to_string(seconds) + " s",
                       std::chrono::seconds(seconds));
}

}  // namespace tessera::hub
