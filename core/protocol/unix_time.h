// Wall-clock time as the signed formats carry it (Unix milliseconds), and how far two machines'
// clocks may disagree before a short-lived credential (a stage assignment, an inference ticket)
// is refused for being from the future or the past.
#pragma once

#include <chrono>
#include <cstdint>

namespace tessera::protocol {

inline constexpr std::int64_t kClockSkewMs = 30'000;

inline std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// True when `now_ms` lies in [from_ms, until_ms], widened by kClockSkewMs at both ends.
inline bool within_lifetime(std::int64_t now_ms, std::int64_t from_ms, std::int64_t until_ms) {
  return now_ms >= from_ms - kClockSkewMs && now_ms <= until_ms + kClockSkewMs;
}

}  // namespace tessera::protocol
