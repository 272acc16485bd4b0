// Boundary codecs: how activations (forward) and their gradients (backward) cross a stage
// boundary. A payload is exactly what the swarm puts on the wire: codec, logical shape, bytes.
// Plain C++, no libtorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/dtype.h"

namespace tessera::model {


// A tensor as plain data: row-major, little-endian element bytes.
struct HostTensor {
  std::vector<std::int64_t> shape;
  DType dtype = DType::float32;
  std::vector<std::uint8_t> bytes;

  std::int64_t numel() const;
  static HostTensor from_floats(std::vector<std::int64_t> shape, const std::vector<float>& values);
  std::vector<float> to_floats() const;  // float32 only; throws otherwise
};

// none: raw float32. fp16: IEEE half. int8: one float32 scale per token + int8 values.
// subspace: the stage sends the rank-r subspace coefficients instead of the width-d residual
// stream (ModelConfig::subspace_rank), quantised like int8.
enum class CodecKind : std::uint8_t { none, fp16, int8, subspace };
std::string codec_name(CodecKind kind);
// Throws std::invalid_argument listing the valid names.
CodecKind parse_codec(const std::string& name);
std::vector<CodecKind> all_codecs();

// Bytes per token of a payload carrying `values` numbers per token.
std::size_t payload_bytes_per_token(CodecKind kind, std::int64_t values);
// Worst relative error of a round trip, as a fraction of the token's largest magnitude
// (0 for none).
double codec_error_bound(CodecKind kind);

struct Payload {
  CodecKind codec = CodecKind::none;
  std::vector<std::int64_t> shape;  // logical shape of the float32 tensor carried: [..., values]
  std::vector<std::uint8_t> bytes;
};

// How int8 and subspace round to their 255 levels. nearest: error ≤ half a step
// (codec_error_bound). stochastic: up or down with the probabilities that make the decoded value
// equal the input on average (error < one step), so that gradients summed over many steps keep
// their small components instead of losing them to rounding; the dither is a hash of each value
// and its position, so the same tensor always encodes to the same bytes.
enum class Rounding : std::uint8_t { nearest, stochastic };

// Encodes a float32 tensor whose last dimension is the per-token values. Throws
// std::invalid_argument for another dtype, an empty shape or non-finite values.
Payload encode(CodecKind kind, const HostTensor& tensor, Rounding rounding = Rounding::nearest);
// The same, reading the float32 values of `shape` (row-major) straight from memory, so that a
// tensor library's buffer is encoded without first copying it into a HostTensor.
Payload encode(CodecKind kind, const std::vector<std::int64_t>& shape, const float* values,
               Rounding rounding = Rounding::nearest);
// Decodes and validates: the codec must be `expected_codec`, the shape `expected_shape`, the
// byte count must match, and every decoded value must be finite; otherwise throws
// std::invalid_argument with a message saying what is wrong ("boundary input rejected: …").
HostTensor decode(const Payload& payload, CodecKind expected_codec, const std::vector<std::int64_t>& expected_shape);
// The checks of decode() that need no decoding: the codec is `expected_codec` and known, the shape
// `expected_shape`, the byte count matches. Returns the number of float32 values it carries. For a
// decoder elsewhere (a device), which must still check every decoded value finite.
std::size_t check_payload(const Payload& payload, CodecKind expected_codec,
                          const std::vector<std::int64_t>& expected_shape);
// Decodes without an expected shape (still checks size consistency and finiteness).
HostTensor decode(const Payload& payload);
// Decodes with the same checks straight into `destination`, which has room for the expected
// shape's float32 values (a tensor library's buffer). On a throw its contents are unspecified.
void decode(const Payload& payload, CodecKind expected_codec, const std::vector<std::int64_t>& expected_shape,
            float* destination);

std::string shape_text(const std::vector<std::int64_t>& shape);  // "[2, 32, 64]"

}  // namespace tessera::model
