// Element types: of a tensor as plain data (HostTensor) and of a wire message's payload (its
// header's dtype byte, whose values these are). One enum for both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tessera::model {

enum class DType : std::uint8_t { u8 = 1, int8 = 2, float16 = 3, bfloat16 = 4, float32 = 5, int32 = 6, int64 = 7 };

std::string dtype_name(DType dtype);  // "float32"; "unknown" for a value outside the enum
std::size_t dtype_size(DType dtype);  // bytes per element; 0 for a value outside the enum

}  // namespace tessera::model
