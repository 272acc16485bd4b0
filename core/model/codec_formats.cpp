// The byte formats behind the boundary codecs: raw float32, IEEE half, and int8 with one float32
// scale per token. Each encodes `count` float32 values (rows of `width`) and decodes a payload whose
// size the caller has checked; what the values must be (finite) is the caller's check too.
#include "core/model/codec_formats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tessera::model::formats {
namespace {

std::uint16_t float_to_half(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t exponent = (bits >> 23) & 0xffu;
  std::uint32_t mantissa = bits & 0x7fffffu;
  if (exponent == 0xff) return static_cast<std::uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u : 0u));
  int e = static_cast<int>(exponent) - 127 + 15;
  if (e >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow to infinity
  if (e <= 0) {
    if (e < -10) return static_cast<std::uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - e;
    std::uint32_t half = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<std::uint16_t>(sign | half);
  }
  std::uint32_t half = sign | (static_cast<std::uint32_t>(e) << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent: correct
  return static_cast<std::uint16_t>(half);
}

float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  std::uint32_t mantissa = half & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400u) == 0);
      bits = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (mantissa & 0x3ffu) << 13;
    }
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | mantissa << 13;
  } else {
    bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  return std::bit_cast<float>(bits);
}

// A uniform number in [0, 1) from a value's bits and its position (splitmix64 finaliser).
float dither(float value, std::uint64_t position) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, 4);
  std::uint64_t x = (static_cast<std::uint64_t>(bits) << 32 ^ position) + 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return static_cast<float>(x >> 40) * (1.0f / 16777216.0f);
}

float load_float(const std::uint8_t* bytes, std::size_t index) {
  float value;
  std::memcpy(&value, bytes + 4 * index, 4);
  return value;
}

}  // namespace

std::size_t raw_bytes(std::size_t values) { return 4 * values; }
std::size_t half_bytes(std::size_t values) { return 2 * values; }
std::size_t scaled_int8_bytes(std::size_t values) { return 4 + values; }

// The common in-datacentre case: one copy, no conversion.
void encode_raw(const std::uint8_t* values, std::size_t count, std::int64_t, Rounding, std::vector<std::uint8_t>& out) {
  out.assign(values, values + 4 * count);
}

void encode_half(const std::uint8_t* values, std::size_t count, std::int64_t, Rounding, std::vector<std::uint8_t>& out) {
  out.resize(count * 2);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint16_t h = float_to_half(load_float(values, i));
    std::memcpy(out.data() + 2 * i, &h, 2);
  }
}

void encode_scaled_int8(const std::uint8_t* values, std::size_t count, std::int64_t width, Rounding rounding,
                        std::vector<std::uint8_t>& out) {
  const std::int64_t tokens = width == 0 ? 0 : static_cast<std::int64_t>(count) / width;
  out.resize(static_cast<std::size_t>(tokens) * (4 + static_cast<std::size_t>(width)));
  std::uint8_t* scales = out.data();
  auto* q = reinterpret_cast<std::int8_t*>(out.data() + 4 * tokens);
  for (std::int64_t t = 0; t < tokens; ++t) {
    const auto row = static_cast<std::size_t>(t * width);
    float largest = 0.0f;
    for (std::int64_t i = 0; i < width; ++i)
      largest = std::max(largest, std::abs(load_float(values, row + static_cast<std::size_t>(i))));
    const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
    std::memcpy(scales + 4 * t, &scale, 4);
    for (std::int64_t i = 0; i < width; ++i) {
      const float value = load_float(values, row + static_cast<std::size_t>(i));
      const float level = value / scale;
      const long rounded =
          rounding == Rounding::stochastic
              ? static_cast<long>(std::floor(level + dither(value, static_cast<std::uint64_t>(t * width + i))))
              : std::lround(level);
      q[t * width + i] = static_cast<std::int8_t>(std::clamp(rounded, -127L, 127L));
    }
  }
}

void decode_raw(const Payload& payload, std::size_t n, std::uint8_t* destination) {
  if (n > 0) std::memcpy(destination, payload.bytes.data(), 4 * n);
}

void decode_half(const Payload& payload, std::size_t n, std::uint8_t* destination) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t h;
    std::memcpy(&h, payload.bytes.data() + 2 * i, 2);
    const float value = half_to_float(h);
    std::memcpy(destination + 4 * i, &value, 4);
  }
}

void decode_scaled_int8(const Payload& payload, std::size_t n, std::uint8_t* destination) {
  const std::int64_t width = payload.shape.back();
  const std::int64_t tokens = width == 0 ? 0 : static_cast<std::int64_t>(n) / width;
  const auto* q = reinterpret_cast<const std::int8_t*>(payload.bytes.data() + 4 * tokens);
  for (std::int64_t t = 0; t < tokens; ++t) {
    float scale;
    std::memcpy(&scale, payload.bytes.data() + 4 * t, 4);
    if (!std::isfinite(scale) || scale < 0.0f)
      throw std::invalid_argument("boundary input rejected: int8 scale of token " + std::to_string(t) + " is not finite");
    for (std::int64_t i = 0; i < width; ++i) {
      const float value = scale * q[t * width + i];
      std::memcpy(destination + 4 * static_cast<std::size_t>(t * width + i), &value, 4);
    }
  }
}

}  // namespace tessera::model::formats
