// Wire header encoding: little-endian fixed fields, then the run id and the shape.
//   magic "TSRW" | version u16 | kind u8 | codec u8 | dtype u8 | dims u8 | run_len u8 | 0 u8
//   | step u64 | micro_batch u32 | stage u16 | 0 u16 | payload_bytes u64 | hash[32]
//   | run id (run_len bytes) | dims × u64
#include "core/net/wire.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <sodium.h>

#include "core/protocol/little_endian.h"

namespace tessera::net {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic{'T', 'S', 'R', 'W'};
constexpr std::size_t kFixedSize = 4 + 2 + 1 + 1 + 1 + 1 + 1 + 1 + 8 + 4 + 2 + 2 + 8 + 32;

bool valid_run_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool known_kind(std::uint8_t value) { return value >= 1 && value <= 20; }

}  // namespace

const char* kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::Forward: return "forward";
    case MessageKind::Backward: return "backward";
    case MessageKind::Receipt: return "receipt";
    case MessageKind::StateRequest: return "state-request";
    case MessageKind::StateChunk: return "state-chunk";
    case MessageKind::Ping: return "ping";
    case MessageKind::Pong: return "pong";
    case MessageKind::Error: return "error";
    case MessageKind::GradNorm: return "grad-norm";
    case MessageKind::Reduce: return "reduce";
    case MessageKind::GradFetch: return "grad-fetch";
    case MessageKind::Gradient: return "gradient";
    case MessageKind::Step: return "step";
    case MessageKind::Abort: return "abort";
    case MessageKind::Ack: return "ack";
    case MessageKind::Infer: return "infer";
    case MessageKind::Logits: return "logits";
    case MessageKind::SharedGradient: return "shared-gradient";
    case MessageKind::CheckFetch: return "check-fetch";
    case MessageKind::CheckChunk: return "check-chunk";
  }
  return "unknown";
}

const char* describe(WireError error) {
  switch (error) {
    case WireError::None: return "ok";
    case WireError::TooShort: return "header frame too short";
    case WireError::BadMagic: return "not a Tessera message (bad magic)";
    case WireError::UnsupportedVersion: return "unsupported wire version";
    case WireError::ReservedNotZero: return "reserved header bytes are not zero";
    case WireError::UnknownKind: return "unknown message kind";
    case WireError::UnknownDType: return "unknown element type";
    case WireError::BadRunId: return "invalid run id";
    case WireError::TooManyDims: return "too many dimensions";
    case WireError::DimTooLarge: return "dimension too large";
    case WireError::TooManyElements: return "tensor too large";
    case WireError::PayloadTooLarge: return "payload too large";
    case WireError::LengthMismatch: return "header length does not match its fields";
    case WireError::PayloadSizeMismatch: return "payload size does not match the header";
    case WireError::PayloadHashMismatch: return "payload hash does not match the header";
  }
  return "unknown error";
}

std::uint64_t MessageHeader::element_count() const {
  std::uint64_t count = 1;
  for (const auto dim : shape) count *= dim;
  return count;
}

std::array<std::uint8_t, 32> payload_hash(std::span<const std::uint8_t> payload) {
  std::array<std::uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), payload.data(), payload.size(), nullptr, 0);
  return hash;
}

std::vector<std::uint8_t> encode_header(MessageHeader header, std::span<const std::uint8_t> payload) {
  header.payload_bytes = payload.size();
  header.payload_hash = payload_hash(payload);
  return encode_header_frame(header);
}

std::vector<std::uint8_t> encode_header_frame(const MessageHeader& header) {
  const WireLimits limits;
  if (header.run_id.empty() || header.run_id.size() > limits.max_run_id ||
      !std::all_of(header.run_id.begin(), header.run_id.end(), valid_run_char))
    throw std::invalid_argument("invalid run id '" + header.run_id + "': 1 to 64 of A-Z a-z 0-9 . _ -");
  if (header.shape.size() > limits.max_dims)
    throw std::invalid_argument("a tensor on the wire has at most 8 dimensions");
  // Written into a buffer sized up front (no growing inserts: GCC 12 misreads those).
  std::vector<std::uint8_t> out(kFixedSize + header.run_id.size() + 8 * header.shape.size());
  std::uint8_t* p = out.data();
  std::memcpy(p, kMagic.data(), kMagic.size());
  protocol::put_le<std::uint16_t>(p + 4, kWireVersion);
  p[6] = static_cast<std::uint8_t>(header.kind);
  p[7] = header.codec;
  p[8] = static_cast<std::uint8_t>(header.dtype);
  p[9] = static_cast<std::uint8_t>(header.shape.size());
  p[10] = static_cast<std::uint8_t>(header.run_id.size());
  p[11] = 0;
  protocol::put_le<std::uint64_t>(p + 12, header.step);
  protocol::put_le<std::uint32_t>(p + 20, header.micro_batch);
  protocol::put_le<std::uint16_t>(p + 24, header.stage);
  protocol::put_le<std::uint16_t>(p + 26, 0);
  protocol::put_le<std::uint64_t>(p + 28, header.payload_bytes);
  std::memcpy(p + 36, header.payload_hash.data(), header.payload_hash.size());
  std::memcpy(p + kFixedSize, header.run_id.data(), header.run_id.size());
  for (std::size_t i = 0; i < header.shape.size(); ++i)
    protocol::put_le<std::uint64_t>(p + kFixedSize + header.run_id.size() + 8 * i, header.shape[i]);
  return out;
}

Decoded decode_header(std::span<const std::uint8_t> frame, const WireLimits& limits) {
  const auto fail = [](WireError error) { return Decoded{std::nullopt, error}; };
  if (frame.size() < kFixedSize) return fail(WireError::TooShort);
  const std::uint8_t* p = frame.data();
  if (std::memcmp(p, kMagic.data(), kMagic.size()) != 0) return fail(WireError::BadMagic);
  if (protocol::get_le<std::uint16_t>(p + 4) != kWireVersion) return fail(WireError::UnsupportedVersion);
  const std::uint8_t kind = p[6], codec = p[7], dtype = p[8], dims = p[9], run_len = p[10];
  if (p[11] != 0 || p[26] != 0 || p[27] != 0) return fail(WireError::ReservedNotZero);
  if (!known_kind(kind)) return fail(WireError::UnknownKind);
  if (model::dtype_size(static_cast<model::DType>(dtype)) == 0) return fail(WireError::UnknownDType);
  if (run_len == 0 || run_len > limits.max_run_id) return fail(WireError::BadRunId);
  if (dims > limits.max_dims) return fail(WireError::TooManyDims);
  if (frame.size() != kFixedSize + run_len + 8ull * dims) return fail(WireError::LengthMismatch);

  MessageHeader header;
  header.kind = static_cast<MessageKind>(kind);
  header.codec = codec;
  header.dtype = static_cast<model::DType>(dtype);
  header.step = protocol::get_le<std::uint64_t>(p + 12);
  header.micro_batch = protocol::get_le<std::uint32_t>(p + 20);
  header.stage = protocol::get_le<std::uint16_t>(p + 24);
  header.payload_bytes = protocol::get_le<std::uint64_t>(p + 28);
  if (header.payload_bytes > limits.max_payload_bytes) return fail(WireError::PayloadTooLarge);
  std::memcpy(header.payload_hash.data(), p + 36, header.payload_hash.size());

  const char* run = reinterpret_cast<const char*>(p + kFixedSize);
  for (std::size_t i = 0; i < run_len; ++i)
    if (!valid_run_char(run[i])) return fail(WireError::BadRunId);
  header.run_id.assign(run, run_len);

  const std::uint8_t* shape = p + kFixedSize + run_len;
  std::uint64_t elements = 1;
  header.shape.reserve(dims);
  for (std::size_t i = 0; i < dims; ++i) {
    const auto dim = protocol::get_le<std::uint64_t>(shape + 8 * i);
    if (dim > limits.max_dim) return fail(WireError::DimTooLarge);
    if (__builtin_mul_overflow(elements, dim, &elements) || elements > limits.max_elements)
      return fail(WireError::TooManyElements);
    header.shape.push_back(dim);
  }
  return Decoded{std::move(header), WireError::None};
}

WireError check_payload(const MessageHeader& header, std::span<const std::uint8_t> payload) {
  if (payload.size() != header.payload_bytes) return WireError::PayloadSizeMismatch;
  const auto hash = payload_hash(payload);
  if (sodium_memcmp(hash.data(), header.payload_hash.data(), hash.size()) != 0) return WireError::PayloadHashMismatch;
  return WireError::None;
}

}  // namespace tessera::net
