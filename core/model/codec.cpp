// Boundary codecs as pure functions over plain bytes (the wire format), with strict validation
// of anything that arrives from a neighbour.
#include "core/model/codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace tessera::model {

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

// True when none of `count` float32 values at `bytes` is NaN or Inf (exponent bits all ones). Two
// values per 64-bit word, branch-free: adding 2^23 to a lane's exponent field carries into the
// lane's top bit only when the field is all ones, and a lane's sum never carries into the next.
bool all_finite(const std::uint8_t* bytes, std::size_t count) {
  constexpr std::uint64_t exponents = 0x7f8000007f800000ULL, one = 0x0080000000800000ULL,
                          tops = 0x8000000080000000ULL;
  std::uint64_t bad = 0;
  std::size_t i = 0;
  for (; i + 2 <= count; i += 2) {
    std::uint64_t word;
    std::memcpy(&word, bytes + 4 * i, 8);
    bad |= ((word & exponents) + one) & tops;
  }
  if (i < count) {
    std::uint32_t last;
    std::memcpy(&last, bytes + 4 * i, 4);
    bad |= ((last & 0x7f800000u) + 0x00800000u) & 0x80000000u;
  }
  return bad == 0;
}

[[noreturn]] void reject(const std::string& what) { throw std::invalid_argument("boundary input rejected: " + what); }

std::int64_t product(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto extent : shape) {
    if (extent < 0) reject("negative extent in shape " + shape_text(shape));
    if (extent > 0 && n > std::numeric_limits<std::int64_t>::max() / extent) reject("shape " + shape_text(shape) + " is too large");
    n *= extent;
  }
  return n;
}

}  // namespace

std::int64_t HostTensor::numel() const {
  std::int64_t n = 1;
  for (auto extent : shape) n *= extent;
  return n;
}

HostTensor HostTensor::from_floats(std::vector<std::int64_t> shape, const std::vector<float>& values) {
  HostTensor tensor;
  tensor.shape = std::move(shape);
  if (tensor.numel() != static_cast<std::int64_t>(values.size()))
    throw std::invalid_argument("tensor shape " + shape_text(tensor.shape) + " does not hold " +
                                std::to_string(values.size()) + " values");
  tensor.bytes.resize(values.size() * sizeof(float));
  std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  return tensor;
}

std::vector<float> HostTensor::to_floats() const {
  if (dtype != DType::float32) throw std::invalid_argument("expected a float32 tensor, got " + dtype_name(dtype));
  if (bytes.size() != static_cast<std::size_t>(numel()) * sizeof(float))
    throw std::invalid_argument("tensor " + shape_text(shape) + " has " + std::to_string(bytes.size()) + " bytes");
  std::vector<float> values(static_cast<std::size_t>(numel()));
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

std::string codec_name(CodecKind kind) {
  switch (kind) {
    case CodecKind::none: return "none";
    case CodecKind::fp16: return "fp16";
    case CodecKind::int8: return "int8";
    case CodecKind::subspace: return "subspace";
  }
  return "unknown";
}

CodecKind parse_codec(const std::string& name) {
  for (auto kind : all_codecs())
    if (codec_name(kind) == name) return kind;
  throw std::invalid_argument("unknown codec '" + name + "': use none, fp16, int8 or subspace");
}

std::vector<CodecKind> all_codecs() { return {CodecKind::none, CodecKind::fp16, CodecKind::int8, CodecKind::subspace}; }

std::size_t payload_bytes_per_token(CodecKind kind, std::int64_t values) {
  const auto n = static_cast<std::size_t>(values);
  switch (kind) {
    case CodecKind::none: return 4 * n;
    case CodecKind::fp16: return 2 * n;
    case CodecKind::int8:
    case CodecKind::subspace: return 4 + n;
  }
  return 0;
}

double codec_error_bound(CodecKind kind) {
  switch (kind) {
    case CodecKind::none: return 0.0;
    case CodecKind::fp16: return 1.0 / 1024.0;  // 10 mantissa bits, relative to the value itself
    case CodecKind::int8:
    case CodecKind::subspace: return 0.5 / 127.0;  // half a step of max|x|/127
  }
  return 0.0;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

namespace {
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

// Encodes float32 values given as raw bytes (`count` of them, shape already checked).
Payload encode_bytes(CodecKind kind, const std::vector<std::int64_t>& shape, const std::uint8_t* bytes,
                     std::size_t count, Rounding rounding) {
  if (!all_finite(bytes, count)) throw std::invalid_argument("codec " + codec_name(kind) + ": tensor holds NaN or Inf");
  Payload payload;
  payload.codec = kind;
  payload.shape = shape;
  const std::int64_t width = shape.back();
  const std::int64_t tokens = width == 0 ? 0 : static_cast<std::int64_t>(count) / width;
  switch (kind) {
    case CodecKind::none:  // the common in-datacentre case: one copy, no conversion
      payload.bytes.assign(bytes, bytes + 4 * count);
      break;
    case CodecKind::fp16: {
      payload.bytes.resize(count * 2);
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint16_t h = float_to_half(load_float(bytes, i));
        std::memcpy(payload.bytes.data() + 2 * i, &h, 2);
      }
      break;
    }
    case CodecKind::int8:
    case CodecKind::subspace: {
      payload.bytes.resize(static_cast<std::size_t>(tokens) * (4 + static_cast<std::size_t>(width)));
      std::uint8_t* scales = payload.bytes.data();
      auto* q = reinterpret_cast<std::int8_t*>(payload.bytes.data() + 4 * tokens);
      for (std::int64_t t = 0; t < tokens; ++t) {
        const auto row = static_cast<std::size_t>(t * width);
        float largest = 0.0f;
        for (std::int64_t i = 0; i < width; ++i)
          largest = std::max(largest, std::abs(load_float(bytes, row + static_cast<std::size_t>(i))));
        const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
        std::memcpy(scales + 4 * t, &scale, 4);
        for (std::int64_t i = 0; i < width; ++i) {
          const float value = load_float(bytes, row + static_cast<std::size_t>(i));
          const float level = value / scale;
          const long rounded =
              rounding == Rounding::stochastic
                  ? static_cast<long>(std::floor(level + dither(value, static_cast<std::uint64_t>(t * width + i))))
                  : std::lround(level);
          q[t * width + i] = static_cast<std::int8_t>(std::clamp(rounded, -127L, 127L));
        }
      }
      break;
    }
  }
  return payload;
}

void check_encodable(CodecKind kind, const std::vector<std::int64_t>& shape) {
  if (shape.empty()) throw std::invalid_argument("codec " + codec_name(kind) + ": tensor has no dimensions");
  for (auto extent : shape)
    if (extent < 0) throw std::invalid_argument("codec " + codec_name(kind) + ": negative extent in " + shape_text(shape));
}

// The number of float32 values a payload decodes to, after checking that its bytes match its shape
// (before anything is allocated for it).
std::size_t checked_count(const Payload& payload) {
  if (payload.shape.empty()) reject("payload has no shape");
  const std::int64_t count = product(payload.shape);
  const std::int64_t width = payload.shape.back();
  const std::int64_t tokens = width == 0 ? 0 : count / width;
  const std::size_t expected_bytes = static_cast<std::size_t>(tokens) * payload_bytes_per_token(payload.codec, width);
  if (payload.bytes.size() != expected_bytes)
    reject(codec_name(payload.codec) + " payload of shape " + shape_text(payload.shape) + " should have " +
           std::to_string(expected_bytes) + " bytes, got " + std::to_string(payload.bytes.size()));
  return static_cast<std::size_t>(count);
}

// Decodes a checked payload of `n` values into `destination` (room for n float32 values); every
// value written is checked finite.
void decode_checked(const Payload& payload, std::size_t n, std::uint8_t* destination) {
  const std::int64_t width = payload.shape.back();
  const std::int64_t tokens = width == 0 ? 0 : static_cast<std::int64_t>(n) / width;
  switch (payload.codec) {
    case CodecKind::none:
      if (n > 0) std::memcpy(destination, payload.bytes.data(), 4 * n);
      break;
    case CodecKind::fp16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, payload.bytes.data() + 2 * i, 2);
        const float value = half_to_float(h);
        std::memcpy(destination + 4 * i, &value, 4);
      }
      break;
    case CodecKind::int8:
    case CodecKind::subspace: {
      const auto* q = reinterpret_cast<const std::int8_t*>(payload.bytes.data() + 4 * tokens);
      for (std::int64_t t = 0; t < tokens; ++t) {
        float scale;
        std::memcpy(&scale, payload.bytes.data() + 4 * t, 4);
        if (!std::isfinite(scale) || scale < 0.0f) reject("int8 scale of token " + std::to_string(t) + " is not finite");
        for (std::int64_t i = 0; i < width; ++i) {
          const float value = scale * q[t * width + i];
          std::memcpy(destination + 4 * static_cast<std::size_t>(t * width + i), &value, 4);
        }
      }
      break;
    }
    default: reject("unknown codec id " + std::to_string(static_cast<int>(payload.codec)));
  }
  // One scan of what was written (cache-warm): NaN/Inf arriving raw, from half infinities, or
  // from a finite scale times a level overflowing.
  if (!all_finite(destination, n)) {
    std::size_t i = 0;
    while (i < n && std::isfinite(load_float(destination, i))) ++i;
    reject("value " + std::to_string(i) + " is NaN or Inf");
  }
}

void check_expected(const Payload& payload, CodecKind expected_codec, const std::vector<std::int64_t>& expected_shape) {
  if (payload.codec != expected_codec)
    reject("expected codec " + codec_name(expected_codec) + ", got " + codec_name(payload.codec));
  if (payload.shape != expected_shape)
    reject("expected shape " + shape_text(expected_shape) + ", got " + shape_text(payload.shape));
}

}  // namespace

Payload encode(CodecKind kind, const HostTensor& tensor, Rounding rounding) {
  if (tensor.dtype != DType::float32)
    throw std::invalid_argument("codec " + codec_name(kind) + " encodes float32 tensors, got " + dtype_name(tensor.dtype));
  check_encodable(kind, tensor.shape);
  if (tensor.bytes.size() != static_cast<std::size_t>(tensor.numel()) * sizeof(float))
    throw std::invalid_argument("codec " + codec_name(kind) + ": tensor " + shape_text(tensor.shape) + " has " +
                                std::to_string(tensor.bytes.size()) + " bytes");
  return encode_bytes(kind, tensor.shape, tensor.bytes.data(), tensor.bytes.size() / sizeof(float), rounding);
}

Payload encode(CodecKind kind, const std::vector<std::int64_t>& shape, const float* values, Rounding rounding) {
  check_encodable(kind, shape);
  std::size_t count = 1;
  for (auto extent : shape) count *= static_cast<std::size_t>(extent);
  return encode_bytes(kind, shape, reinterpret_cast<const std::uint8_t*>(values), count, rounding);
}

HostTensor decode(const Payload& payload) {
  const auto count = checked_count(payload);
  HostTensor tensor;
  tensor.shape = payload.shape;
  tensor.bytes.resize(count * sizeof(float));
  decode_checked(payload, count, tensor.bytes.data());
  return tensor;
}

HostTensor decode(const Payload& payload, CodecKind expected_codec, const std::vector<std::int64_t>& expected_shape) {
  check_expected(payload, expected_codec, expected_shape);
  return decode(payload);
}

void decode(const Payload& payload, CodecKind expected_codec, const std::vector<std::int64_t>& expected_shape,
            float* destination) {
  check_expected(payload, expected_codec, expected_shape);
  decode_checked(payload, checked_count(payload), reinterpret_cast<std::uint8_t*>(destination));
}

}  // namespace tessera::model
