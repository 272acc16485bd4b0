// The byte formats behind the boundary codecs (codec.cpp's table names them): raw float32, IEEE
// half, and int8 with one float32 scale per token. Internal to core/model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/model/codec.h"

namespace tessera::model::formats {

std::size_t raw_bytes(std::size_t values);          // per token of `values` numbers
std::size_t half_bytes(std::size_t values);
std::size_t scaled_int8_bytes(std::size_t values);

// `count` float32 values, rows of `width` (the caller checked them finite) → the payload's bytes.
void encode_raw(const std::uint8_t* values, std::size_t count, std::int64_t width, Rounding rounding,
                std::vector<std::uint8_t>& out);
void encode_half(const std::uint8_t* values, std::size_t count, std::int64_t width, Rounding rounding,
                 std::vector<std::uint8_t>& out);
void encode_scaled_int8(const std::uint8_t* values, std::size_t count, std::int64_t width, Rounding rounding,
                        std::vector<std::uint8_t>& out);

// A payload whose size matches its shape (checked) → `n` float32 values at `destination`. The
// scaled format refuses a scale that is not finite; the caller checks the values.
void decode_raw(const Payload& payload, std::size_t n, std::uint8_t* destination);
void decode_half(const Payload& payload, std::size_t n, std::uint8_t* destination);
void decode_scaled_int8(const Payload& payload, std::size_t n, std::uint8_t* destination);

}  // namespace tessera::model::formats
