// Boundary codecs as pure functions over plain bytes (the wire format), with strict validation
// of anything that arrives from a neighbour.
#include "core/model/codec.h"

#include "core/model/codec_formats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace tessera::model {

namespace {

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

// The codecs: a row each (wire id, name, size, error bound, byte format). Adding a codec is a
// CodecKind value (codec.h), a row here and, for a new byte format, its functions in codec_formats.
namespace {

struct CodecInfo {
  CodecKind kind;
  const char* name;
  std::size_t (*bytes_per_token)(std::size_t values);
  double error_bound;  // worst relative error of a round trip (see codec_error_bound)
  void (*encode)(const std::uint8_t* values, std::size_t count, std::int64_t width, Rounding rounding,
                 std::vector<std::uint8_t>& out);
  void (*decode)(const Payload& payload, std::size_t n, std::uint8_t* destination);
};

constexpr CodecInfo kCodecs[] = {
    {CodecKind::none, "none", formats::raw_bytes, 0.0, formats::encode_raw, formats::decode_raw},
    // fp16: 10 mantissa bits, relative to the value itself.
    {CodecKind::fp16, "fp16", formats::half_bytes, 1.0 / 1024.0, formats::encode_half, formats::decode_half},
    // int8 and subspace: half a step of max|x|/127 per token.
    {CodecKind::int8, "int8", formats::scaled_int8_bytes, 0.5 / 127.0, formats::encode_scaled_int8,
     formats::decode_scaled_int8},
    {CodecKind::subspace, "subspace", formats::scaled_int8_bytes, 0.5 / 127.0, formats::encode_scaled_int8,
     formats::decode_scaled_int8},
};

// Nothing for an id no row has (a payload's codec byte comes from the network).
const CodecInfo* find_codec(CodecKind kind) {
  for (const auto& info : kCodecs)
    if (info.kind == kind) return &info;
  return nullptr;
}

}  // namespace

std::string codec_name(CodecKind kind) {
  const auto* info = find_codec(kind);
  return info ? info->name : "unknown";
}

CodecKind parse_codec(const std::string& name) {
  std::string names;
  const auto count = std::size(kCodecs);
  for (std::size_t i = 0; i < count; ++i) {
    if (kCodecs[i].name == name) return kCodecs[i].kind;
    names += (i == 0 ? "" : i + 1 == count ? " or " : ", ") + std::string(kCodecs[i].name);
  }
  throw std::invalid_argument("unknown codec '" + name + "': use " + names);
}

std::vector<CodecKind> all_codecs() {
  std::vector<CodecKind> out;
  for (const auto& info : kCodecs) out.push_back(info.kind);
  return out;
}

std::size_t payload_bytes_per_token(CodecKind kind, std::int64_t values) {
  const auto* info = find_codec(kind);
  return info ? info->bytes_per_token(static_cast<std::size_t>(values)) : 0;
}

double codec_error_bound(CodecKind kind) {
  const auto* info = find_codec(kind);
  return info ? info->error_bound : 0.0;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

namespace {
// Encodes float32 values given as raw bytes (`count` of them, shape already checked).
Payload encode_bytes(CodecKind kind, const std::vector<std::int64_t>& shape, const std::uint8_t* bytes,
                     std::size_t count, Rounding rounding) {
  const auto* info = find_codec(kind);
  if (!info) throw std::invalid_argument("unknown codec id " + std::to_string(static_cast<int>(kind)));
  if (!all_finite(bytes, count)) throw std::invalid_argument("codec " + codec_name(kind) + ": tensor holds NaN or Inf");
  Payload payload;
  payload.codec = kind;
  payload.shape = shape;
  info->encode(bytes, count, shape.back(), rounding, payload.bytes);
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
  const auto* info = find_codec(payload.codec);
  if (!info) reject("unknown codec id " + std::to_string(static_cast<int>(payload.codec)));
  info->decode(payload, n, destination);
  // One scan of what was written (cache-warm): NaN/Inf arriving raw, from half infinities, or
  // from a finite scale times a level overflowing.
  if (!all_finite(destination, n)) {
    std::size_t i = 0;
    float value = 0;
    while (i < n && (std::memcpy(&value, destination + 4 * i, 4), std::isfinite(value))) ++i;
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

std::size_t check_payload(const Payload& payload, CodecKind expected_codec,
                          const std::vector<std::int64_t>& expected_shape) {
  check_expected(payload, expected_codec, expected_shape);
  if (!find_codec(payload.codec)) reject("unknown codec id " + std::to_string(static_cast<int>(payload.codec)));
  return checked_count(payload);
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
