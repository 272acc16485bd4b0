// How the process's heap treats memory that training frees and allocates again every micro-batch.
#pragma once

#include "core/engine/model_types.h"

namespace tessera::engine {

// Training on the CPU allocates and frees the same activation buffers every micro-batch. By
// default glibc returns a freed top of the heap larger than a dynamic threshold (at most 64 MiB)
// to the system and serves blocks above a dynamic mmap threshold with fresh mappings, so the
// next micro-batch faults its activations back in page by page, each page zeroed by the kernel:
// on the bench's model that was 40 to 50 thousand faults per step at about 2 µs each, 5 to 6 % of
// the step, and which of the compared trainers paid it depended on the order the heap had grown
// in. Keep freed memory for reuse instead: blocks up to 32 MiB (glibc's largest mmap threshold)
// come from the heap, and the heap is trimmed only past twice the largest memory estimate of an
// engine object in this process, so what stays mapped is about what training touches anyway.
// A no-op outside glibc. Thread-safe.
void keep_freed_memory_for_reuse(const MemoryEstimate& estimate);

}  // namespace tessera::engine
