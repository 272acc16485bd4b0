// The versioned wire format between nodes: a small typed header frame and the tensor bytes as a
// separate payload frame. The decoder checks every length, count and shape against limits before
// anything is allocated, so a hostile or broken peer can cost a dropped message and nothing more.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/model/dtype.h"

namespace tessera::net {

inline constexpr std::uint16_t kWireVersion = 1;

enum class MessageKind : std::uint8_t {
  Forward = 1,        // activations into the next stage
  Backward = 2,       // gradients of a stage's output back to the previous stage
  Receipt = 3,        // a signed acknowledgement of a Forward or Backward payload
  StateRequest = 4,   // a joining replica asks a live replica for its stage's state
  StateChunk = 5,     // one piece of that state
  Ping = 6,
  Pong = 7,
  Error = 8,          // the payload is a UTF-8 message
  GradNorm = 9,       // a stage's squared gradient norm for global clipping
  Reduce = 10,        // the step driver asks a replica to sum its stage's gradients with its peers'
  GradFetch = 11,     // a replica asks another for its raw gradient of this step
  Gradient = 12,      // the answer: the gradient vector
  Step = 13,          // the driver commits a step: the global norm; every participant steps
  Abort = 14,         // the driver abandons a step attempt: discard stash and gradients
  Ack = 15,           // a plain acknowledgement
  Infer = 16,         // forward only, no receipts, no training state: returns the last logits
  Logits = 17,        // the answer to Infer
  SharedGradient = 18,  // subspace runs: the driver sends the shared embedding gradient summed over
                        // all stages; every replica installs it and answers GradNorm
  CheckFetch = 19,    // a spot checker presents the hub's check ticket and asks for the worker's evidence
  CheckChunk = 20,    // one piece of that evidence (net/check_evidence.h)
};

const char* kind_name(MessageKind kind);

struct WireLimits {
  std::size_t max_dims = 8;
  std::uint64_t max_dim = 1ull << 31;
  std::uint64_t max_elements = 1ull << 30;
  std::uint64_t max_payload_bytes = 1ull << 30;  // 1 GiB
  std::size_t max_run_id = 64;
};

using PayloadHash = std::array<std::uint8_t, 32>;  // BLAKE2b-256

struct MessageHeader {
  MessageKind kind = MessageKind::Ping;
  std::string run_id;  // [A-Za-z0-9._-], at most WireLimits::max_run_id bytes
  std::uint64_t step = 0;
  std::uint32_t micro_batch = 0;
  std::uint16_t stage = 0;
  std::uint8_t codec = 0;  // codec id (engine codecs; 0 = none)
  model::DType dtype = model::DType::u8;
  std::vector<std::uint64_t> shape;  // logical tensor shape (empty for scalars or no tensor)
  std::uint64_t payload_bytes = 0;
  PayloadHash payload_hash{};  // BLAKE2b-256 of the payload frame

  std::uint64_t element_count() const;  // product of shape; 1 for an empty shape
};

enum class WireError {
  None,
  TooShort,
  BadMagic,
  UnsupportedVersion,
  ReservedNotZero,
  UnknownKind,
  UnknownDType,
  BadRunId,
  TooManyDims,
  DimTooLarge,
  TooManyElements,
  PayloadTooLarge,
  LengthMismatch,
  PayloadSizeMismatch,
  PayloadHashMismatch,
};
const char* describe(WireError error);

struct Decoded {
  std::optional<MessageHeader> header;
  WireError error = WireError::None;
};

// The payload's BLAKE2b-256.
std::array<std::uint8_t, 32> payload_hash(std::span<const std::uint8_t> payload);

// Fills payload_bytes and payload_hash from `payload` and encodes the header frame.
std::vector<std::uint8_t> encode_header(MessageHeader header, std::span<const std::uint8_t> payload);

// Encodes the header as it is (payload_bytes and payload_hash included). Throws
// std::invalid_argument for a run id or shape the format cannot carry.
std::vector<std::uint8_t> encode_header_frame(const MessageHeader& header);

// Parses a header frame. Never throws, never allocates more than the limits allow.
Decoded decode_header(std::span<const std::uint8_t> frame, const WireLimits& limits = {});

// Checks a payload frame against its decoded header (size and hash).
WireError check_payload(const MessageHeader& header, std::span<const std::uint8_t> payload);

}  // namespace tessera::net
