// The relay's control frames: see control_frame.h.
#include "core/relay/control_frame.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tessera::relay {
namespace {

constexpr std::string_view kChallengePrefix = "tessera-relay-v1";

void expect(const Frame& frame, FrameType type, const char* what) {
  if (frame.type != type || !frame_allowed(static_cast<std::uint8_t>(type), frame.payload.size()))
    throw std::invalid_argument(std::string("relay: expected a valid ") + what + " frame");
}

}  // namespace

bool frame_allowed(std::uint8_t type, std::size_t length) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::Challenge: return length == 32;
    case FrameType::Hello: return length == 96;
    case FrameType::Accepted: return length >= 3 && length <= kMaxFramePayload;
    case FrameType::Refused: return length <= 255;
    case FrameType::Stream:
    case FrameType::Claim: return length == 16;
    case FrameType::Ping:
    case FrameType::Pong: return length == 0;
  }
  return false;
}

std::vector<std::uint8_t> encode_frame(FrameType type, std::span<const std::uint8_t> payload) {
  if (!frame_allowed(static_cast<std::uint8_t>(type), payload.size()))
    throw std::invalid_argument("relay: a frame of this type cannot carry " + std::to_string(payload.size()) +
                                " bytes");
  std::vector<std::uint8_t> out(kFrameHeaderBytes + payload.size());
  out[0] = static_cast<std::uint8_t>(type);
  out[1] = static_cast<std::uint8_t>(payload.size() >> 8);
  out[2] = static_cast<std::uint8_t>(payload.size() & 0xff);
  if (!payload.empty()) std::memcpy(out.data() + kFrameHeaderBytes, payload.data(), payload.size());
  return out;
}

std::vector<std::uint8_t> encode_hello(const Hello& hello) {
  std::array<std::uint8_t, 96> payload{};
  std::memcpy(payload.data(), hello.node_key.data(), 32);
  std::memcpy(payload.data() + 32, hello.signature.data(), 64);
  return encode_frame(FrameType::Hello, payload);
}

std::vector<std::uint8_t> encode_accepted(const Accepted& accepted) {
  if (accepted.host.empty() || accepted.host.size() > 255)
    throw std::invalid_argument("relay: the public host must have 1 to 255 characters");
  std::vector<std::uint8_t> payload(2 + accepted.host.size());
  payload[0] = static_cast<std::uint8_t>(accepted.port >> 8);
  payload[1] = static_cast<std::uint8_t>(accepted.port & 0xff);
  std::memcpy(payload.data() + 2, accepted.host.data(), accepted.host.size());
  return encode_frame(FrameType::Accepted, payload);
}

std::vector<std::uint8_t> encode_refused(const std::string& reason) {
  return encode_frame(FrameType::Refused, wallet::as_bytes(std::string_view(reason).substr(0, 255)));
}

Challenge decode_challenge(const Frame& frame) {
  expect(frame, FrameType::Challenge, "challenge");
  Challenge challenge{};
  std::copy(frame.payload.begin(), frame.payload.end(), challenge.begin());
  return challenge;
}

Hello decode_hello(const Frame& frame) {
  expect(frame, FrameType::Hello, "hello");
  Hello hello;
  std::copy_n(frame.payload.begin(), 32, hello.node_key.begin());
  std::copy_n(frame.payload.begin() + 32, 64, hello.signature.begin());
  return hello;
}

Accepted decode_accepted(const Frame& frame) {
  expect(frame, FrameType::Accepted, "accepted");
  Accepted accepted;
  accepted.port = static_cast<std::uint16_t>(frame.payload[0] << 8 | frame.payload[1]);
  accepted.host.assign(frame.payload.begin() + 2, frame.payload.end());
  const bool printable =
      std::all_of(accepted.host.begin(), accepted.host.end(), [](char c) { return c > 32 && c < 127; });
  if (accepted.port == 0 || !printable)
    throw std::invalid_argument("relay: the accepted frame names no usable endpoint");
  return accepted;
}

std::string decode_refused(const Frame& frame) {
  expect(frame, FrameType::Refused, "refused");
  std::string reason(frame.payload.begin(), frame.payload.end());
  std::replace_if(reason.begin(), reason.end(), [](char c) { return c < 32 || c == 127; }, '?');
  return reason;
}

StreamId decode_stream_id(const Frame& frame) {
  if (frame.type == FrameType::Claim)
    expect(frame, FrameType::Claim, "claim");
  else
    expect(frame, FrameType::Stream, "stream");
  StreamId id{};
  std::copy(frame.payload.begin(), frame.payload.end(), id.begin());
  return id;
}

std::vector<std::uint8_t> challenge_message(const Challenge& challenge) {
  std::vector<std::uint8_t> message(kChallengePrefix.size() + challenge.size());
  std::memcpy(message.data(), kChallengePrefix.data(), kChallengePrefix.size());
  std::memcpy(message.data() + kChallengePrefix.size(), challenge.data(), challenge.size());
  return message;
}

Hello answer_challenge(const Challenge& challenge, const wallet::KeyPair& node_key) {
  Hello hello;
  hello.node_key = node_key.public_key();
  hello.signature = node_key.sign(wallet::SignatureDomain::RelayChallenge, challenge_message(challenge));
  return hello;
}

bool hello_proves_key(const Hello& hello, const Challenge& challenge) {
  return wallet::verify(wallet::SignatureDomain::RelayChallenge, challenge_message(challenge), hello.signature,
                        hello.node_key);
}

FrameReader::Status FrameReader::read(int fd) {
  for (;;) {
    const bool in_header = header_have_ < kFrameHeaderBytes;
    std::uint8_t* into = in_header ? header_.data() + header_have_ : payload_.data() + payload_have_;
    const std::size_t want = in_header ? kFrameHeaderBytes - header_have_ : payload_.size() - payload_have_;
    if (want == 0) return Status::Frame;
    const auto got = ::recv(fd, into, want, MSG_DONTWAIT);
    if (got == 0) return Status::Closed;
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? Status::Partial : Status::Closed;
    }
    if (!in_header) {
      payload_have_ += static_cast<std::size_t>(got);
      continue;
    }
    header_have_ += static_cast<std::size_t>(got);
    if (header_have_ < kFrameHeaderBytes) continue;
    const std::size_t length = static_cast<std::size_t>(header_[1]) << 8 | header_[2];
    if (!frame_allowed(header_[0], length)) return Status::Garbage;
    payload_.assign(length, 0);
    payload_have_ = 0;
  }
}

Frame FrameReader::take() {
  Frame frame{static_cast<FrameType>(header_[0]), std::move(payload_)};
  header_have_ = 0;
  payload_.clear();
  payload_have_ = 0;
  return frame;
}

Frame read_frame(int fd, Clock::time_point deadline, int stop_fd) {
  FrameReader reader;
  for (;;) {
    switch (reader.read(fd)) {
      case FrameReader::Status::Frame: return reader.take();
      case FrameReader::Status::Closed: throw std::runtime_error("the relay connection was closed");
      case FrameReader::Status::Garbage: throw std::runtime_error("the other side does not speak the relay protocol");
      case FrameReader::Status::Partial: break;
    }
    switch (wait_for(fd, POLLIN, deadline, stop_fd)) {
      case WaitResult::Ready: break;
      case WaitResult::TimedOut: throw std::runtime_error("no answer from the relay in time");
      case WaitResult::Stopped: throw std::runtime_error("stopped");
    }
  }
}

bool send_frame(int fd, std::span<const std::uint8_t> encoded, Clock::time_point deadline, int stop_fd) {
  return send_all(fd, encoded, deadline, stop_fd);
}

}  // namespace tessera::relay
