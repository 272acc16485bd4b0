// glibc malloc tuning for CPU training (see heap_tuning.h for why).
#include "core/backend/heap_tuning.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tessera::engine {

void keep_freed_memory_for_reuse(const MemoryEstimate& estimate) {
#if defined(__GLIBC__)
  static std::mutex mutex;
  static std::int64_t trim_threshold = 0;
  constexpr std::int64_t floor = std::int64_t{256} << 20, ceiling = std::numeric_limits<int>::max();
  const std::int64_t wanted = std::clamp(2 * estimate.total(), floor, ceiling);
  std::lock_guard<std::mutex> lock(mutex);
  if (wanted <= trim_threshold) return;
  if (trim_threshold == 0) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(wanted));
  trim_threshold = wanted;
#else
  (void)estimate;
#endif
}

}  // namespace tessera::engine
