// Server/Client over cppzmq: CURVE on every socket, poll-based deadlines, strict frame checks.
#include "core/net/endpoint.h"

#include <cstring>
#include <stdexcept>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

namespace tessera::net {
namespace {

using Clock = std::chrono::steady_clock;

void configure_common(zmq::socket_t& socket, const CurveKeyPair& identity, const WireLimits& limits) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::curve_publickey, zmq::const_buffer(identity.public_key.data(), identity.public_key.size()));
  socket.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(identity.secret_key.data(), identity.secret_key.size()));
  // A peer sending a frame larger than any valid payload is disconnected by ZeroMQ itself,
  // before the frame is allocated.
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(limits.max_payload_bytes + 4096));
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 5000);
}

bool wait_for(zmq::socket_t& socket, short events, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  zmq::pollitem_t item{socket.handle(), 0, events, 0};
  return zmq::poll(&item, 1, std::max(left, std::chrono::milliseconds(0))) > 0 && (item.revents & events);
}

bool send_frames(zmq::socket_t& socket, const std::string* routing_id, const MessageHeader& header,
                 std::span<const std::uint8_t> payload, Timeout timeout, LinkStats& stats, TrafficMeter* traffic,
                 PayloadHash* hash) {
  const auto deadline = Clock::now() + timeout;
  if (!wait_for(socket, ZMQ_POLLOUT, deadline)) return false;
  MessageHeader sealed = header;
  sealed.payload_bytes = payload.size();
  sealed.payload_hash = payload_hash(payload);
  if (hash) *hash = sealed.payload_hash;
  const auto frame = encode_header_frame(sealed);
  try {
    if (routing_id && !socket.send(zmq::buffer(*routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return false;
    socket.send(zmq::buffer(frame), zmq::send_flags::sndmore);
    socket.send(zmq::const_buffer(payload.data(), payload.size()), zmq::send_flags::none);
  } catch (const zmq::error_t& error) {
    if (error.num() == EHOSTUNREACH) return false;  // the peer has gone
    throw;
  }
  ++stats.sent;
  // The routing frame only tells the ROUTER where to send: it never goes on the wire.
  if (traffic)
    traffic->count_sent(classify(header.kind, payload.size()), curve_frame_bytes(frame.size()) + curve_frame_bytes(payload.size()));
  return true;
}

struct Received {
  std::vector<zmq::message_t> frames;
  std::uint64_t wire_bytes = 0;  // what the frames cost on the connection (curve_frame_bytes)
};

// One multipart message; a ROUTER's first frame (`routed`) is the routing id it added, not a frame
// the peer sent.
Received receive_frames(zmq::socket_t& socket, bool routed) {
  Received in;
  do {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::dontwait)) break;
    if (!routed || !in.frames.empty()) in.wire_bytes += curve_frame_bytes(frame.size());
    in.frames.push_back(std::move(frame));
  } while (socket.get(zmq::sockopt::rcvmore) && in.frames.size() < 8);
  // Drain any excess frames of an oversized multipart message.
  while (socket.get(zmq::sockopt::rcvmore)) {
    zmq::message_t extra;
    if (!socket.recv(extra, zmq::recv_flags::dontwait)) break;
    in.wire_bytes += curve_frame_bytes(extra.size());
    in.frames.emplace_back();
  }
  return in;
}

// A message's bytes as received: by its kind when it was well-formed, as control when dropped.
void count_received(TrafficMeter* traffic, const Received& in, const std::optional<Message>& message) {
  if (!traffic) return;
  traffic->count_received(message ? classify(message->header.kind, message->payload.size()) : TrafficKind::control,
                          in.wire_bytes);
}

// Validates [header][payload]; nothing (and a count, and a log line) when malformed.
std::optional<Message> parse(zmq::message_t& header_frame, zmq::message_t& payload_frame, const WireLimits& limits,
                             LinkStats& stats) {
  const std::span header_bytes(static_cast<const std::uint8_t*>(header_frame.data()), header_frame.size());
  const std::span payload_bytes(static_cast<const std::uint8_t*>(payload_frame.data()), payload_frame.size());
  auto decoded = decode_header(header_bytes, limits);
  WireError error = decoded.error;
  if (error == WireError::None) error = check_payload(*decoded.header, payload_bytes);
  if (error != WireError::None) {
    ++stats.malformed;
    spdlog::warn("dropped a malformed message: {}", describe(error));
    return std::nullopt;
  }
  ++stats.received;
  return Message{std::move(*decoded.header), std::vector<std::uint8_t>(payload_bytes.begin(), payload_bytes.end())};
}

}  // namespace

Server::Server(zmq::context_t& context, const CurveKeyPair& identity, const std::string& address, WireLimits limits,
               TrafficMeter* traffic)
    : socket_(std::make_unique<zmq::socket_t>(context, zmq::socket_type::router)), limits_(limits), traffic_(traffic) {
  configure_common(*socket_, identity, limits_);
  socket_->set(zmq::sockopt::curve_server, true);
  socket_->set(zmq::sockopt::router_mandatory, true);
  std::string bind_address = address;
  if (bind_address.size() > 2 && bind_address.compare(bind_address.size() - 2, 2, ":0") == 0)
    bind_address.replace(bind_address.size() - 1, 1, "*");
  try {
    socket_->bind(bind_address);
  } catch (const zmq::error_t& error) {
    throw std::runtime_error("cannot listen on " + address + ": " + error.what());
  }
}

Server::~Server() = default;

void* Server::poll_handle() const { return socket_->handle(); }

void* Client::poll_handle() const { return socket_->handle(); }

std::string Server::endpoint() const { return socket_->get(zmq::sockopt::last_endpoint); }

std::optional<Incoming> Server::receive(Timeout timeout) {
  const auto deadline = Clock::now() + timeout;
  while (wait_for(*socket_, ZMQ_POLLIN, deadline)) {
    auto in = receive_frames(*socket_, true);
    auto& frames = in.frames;
    if (frames.size() != 3) {
      count_received(traffic_, in, std::nullopt);
      ++stats_.malformed;
      spdlog::warn("dropped a message with {} frames (expected header and payload)", frames.empty() ? 0 : frames.size() - 1);
      continue;
    }
    auto message = parse(frames[1], frames[2], limits_, stats_);
    count_received(traffic_, in, message);
    if (!message) continue;
    Incoming incoming;
    incoming.routing_id = frames[0].to_string();
    const char* user_id = frames[1].gets("User-Id");
    size_t used = 0;
    if (user_id == nullptr ||
        sodium_hex2bin(incoming.peer.data(), incoming.peer.size(), user_id, std::strlen(user_id), nullptr, &used,
                       nullptr) != 0 ||
        used != incoming.peer.size()) {
      ++stats_.malformed;  // cannot happen with the ZAP handler installed; never trust it blindly
      continue;
    }
    incoming.message = std::move(*message);
    return incoming;
  }
  return std::nullopt;
}

bool Server::reply(const Incoming& to, const MessageHeader& header, std::span<const std::uint8_t> payload,
                   Timeout timeout) {
  return send_frames(*socket_, &to.routing_id, header, payload, timeout, stats_, traffic_, nullptr);
}

Client::Client(zmq::context_t& context, const CurveKeyPair& identity, const CurvePublicKey& server_key,
               const std::string& endpoint, WireLimits limits, TrafficMeter* traffic)
    : socket_(std::make_unique<zmq::socket_t>(context, zmq::socket_type::dealer)), limits_(limits), traffic_(traffic) {
  configure_common(*socket_, identity, limits_);
  socket_->set(zmq::sockopt::curve_serverkey, zmq::const_buffer(server_key.data(), server_key.size()));
  socket_->set(zmq::sockopt::immediate, true);  // queue nothing for a peer that is not connected
  socket_->connect(endpoint);
}

Client::~Client() = default;

bool Client::send(const MessageHeader& header, std::span<const std::uint8_t> payload, Timeout timeout,
                  PayloadHash* hash) {
  return send_frames(*socket_, nullptr, header, payload, timeout, stats_, traffic_, hash);
}

std::optional<Message> Client::receive(Timeout timeout) {
  const auto deadline = Clock::now() + timeout;
  while (wait_for(*socket_, ZMQ_POLLIN, deadline)) {
    auto in = receive_frames(*socket_, false);
    auto& frames = in.frames;
    if (frames.size() != 2) {
      count_received(traffic_, in, std::nullopt);
      ++stats_.malformed;
      spdlog::warn("dropped a reply with {} frames (expected header and payload)", frames.size());
      continue;
    }
    auto message = parse(frames[0], frames[1], limits_, stats_);
    count_received(traffic_, in, message);
    if (message) return message;
  }
  return std::nullopt;
}

std::optional<Message> Client::request(const MessageHeader& header, std::span<const std::uint8_t> payload,
                                       Timeout timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!send(header, payload, timeout)) return std::nullopt;
  return receive(std::chrono::duration_cast<Timeout>(std::max(deadline - Clock::now(), Clock::duration::zero())));
}

}  // namespace tessera::net
