// The relay's control protocol, used by RelayServer, RelayLink and the tests: a tiny fixed set of
// length-prefixed binary frames (type byte, 16-bit big-endian length, payload). Each type has a
// fixed size or a small maximum, checked from the three header bytes before anything else is
// read, so a peer that sends anything else is recognised as garbage at once.
//
//   relay → any new connection   Challenge  32 random bytes
//   client → relay               Hello      node key (32) ‖ Ed25519 signature (64) over
//                                           "tessera-relay-v1" ‖ challenge (domain RelayChallenge)
//   relay → client               Accepted   public port (2) ‖ public host (1..255 bytes)
//   relay → client               Refused    why, in words (≤ 255 bytes); then the relay closes
//   relay → client               Stream     stream id (16): a peer connected to the public port
//   client → relay (new conn.)   Claim      stream id (16); after it the connection is raw bytes
//   either way                   Ping, Pong empty keepalives
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/relay/socket_io.h"
#include "core/wallet/signing.h"

namespace tessera::relay {

enum class FrameType : std::uint8_t {
  Challenge = 1,
  Hello = 2,
  Accepted = 3,
  Refused = 4,
  Stream = 5,
  Claim = 6,
  Ping = 7,
  Pong = 8,
};

constexpr std::size_t kFrameHeaderBytes = 3;
constexpr std::size_t kMaxFramePayload = 257;  // Accepted: port + a 255-byte host name

using Challenge = std::array<std::uint8_t, 32>;
using StreamId = std::array<std::uint8_t, 16>;

struct Frame {
  FrameType type = FrameType::Ping;
  std::vector<std::uint8_t> payload;
};

struct Hello {
  wallet::PublicKey node_key{};
  wallet::Signature signature{};
};

struct Accepted {
  std::uint16_t port = 0;
  std::string host;
};

// Whether a header announcing `type` with `length` payload bytes is one the protocol allows.
bool frame_allowed(std::uint8_t type, std::size_t length);

std::vector<std::uint8_t> encode_frame(FrameType type, std::span<const std::uint8_t> payload = {});
std::vector<std::uint8_t> encode_hello(const Hello& hello);
std::vector<std::uint8_t> encode_accepted(const Accepted& accepted);
std::vector<std::uint8_t> encode_refused(const std::string& reason);  // cut to 255 bytes

// Typed payloads; each throws std::invalid_argument when the frame is not of its type or size.
Challenge decode_challenge(const Frame& frame);
Hello decode_hello(const Frame& frame);
Accepted decode_accepted(const Frame& frame);
std::string decode_refused(const Frame& frame);
StreamId decode_stream_id(const Frame& frame);  // Stream or Claim

// What the client signs (domain RelayChallenge): "tessera-relay-v1" ‖ challenge.
std::vector<std::uint8_t> challenge_message(const Challenge& challenge);
Hello answer_challenge(const Challenge& challenge, const wallet::KeyPair& node_key);
bool hello_proves_key(const Hello& hello, const Challenge& challenge);

// Reads one frame from a non-blocking socket as its bytes arrive, never past the frame's end
// (what follows a Claim is the spliced stream and must stay in the socket).
class FrameReader {
 public:
  enum class Status { Frame, Partial, Closed, Garbage };
  Status read(int fd);
  Frame take();  // after read() returned Frame; the reader starts on the next frame

 private:
  std::array<std::uint8_t, kFrameHeaderBytes> header_{};
  std::size_t header_have_ = 0;
  std::vector<std::uint8_t> payload_;
  std::size_t payload_have_ = 0;
};

// One whole frame with a deadline. Throws std::runtime_error saying what went wrong (timed out,
// connection closed, not a relay frame).
Frame read_frame(int fd, Clock::time_point deadline, int stop_fd);
bool send_frame(int fd, std::span<const std::uint8_t> encoded, Clock::time_point deadline, int stop_fd);

}  // namespace tessera::relay
