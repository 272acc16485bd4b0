// The probe: a DEALER socket with a throw-away CURVE key and a socket monitor; the monitor's
// handshake events say whether the node answered with its key.
#include "core/net/reach_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <atomic>
#include <optional>
#include <cstring>

#include <zmq.h>
#include <zmq.hpp>

namespace tessera::net {
namespace {

using Clock = std::chrono::steady_clock;

std::string monitor_address() {
  static std::atomic<unsigned> next{0};
  return "inproc://tessera-reach-probe-" + std::to_string(next++);
}

struct Event {
  std::uint16_t id = 0;
  std::uint32_t value = 0;
};

// The next monitor event (two frames: id+value, then the endpoint), or nothing by `deadline`.
std::optional<Event> next_event(zmq::socket_t& monitor, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  zmq::pollitem_t item{monitor.handle(), 0, ZMQ_POLLIN, 0};
  if (left.count() <= 0 || zmq::poll(&item, 1, left) <= 0) return std::nullopt;
  zmq::message_t head, address;
  if (!monitor.recv(head, zmq::recv_flags::dontwait) || head.size() < 6) return std::nullopt;
  if (monitor.get(zmq::sockopt::rcvmore)) (void)monitor.recv(address, zmq::recv_flags::dontwait);
  Event event;
  std::memcpy(&event.id, head.data(), 2);
  std::memcpy(&event.value, static_cast<const char*>(head.data()) + 2, 4);
  return event;
}

std::string seconds_text(std::chrono::milliseconds timeout) {
  return std::to_string(timeout.count() / 1000) + "." + std::to_string(timeout.count() % 1000 / 100) + " s";
}

// What the events say; nothing while they say nothing final yet.
std::optional<ReachResult> judge(const Event& event, std::string& last_problem) {
  switch (event.id) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      return ReachResult{true, "the node's CurveZMQ handshake completed"};
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:  // its ZAP allowlist refused the probe's key: it holds its key
      return ReachResult{true, "the node answered the CurveZMQ handshake with its key"};
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      return ReachResult{false, "something answers there, but not with this node's CurveZMQ key"};
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      last_problem = "the connection closed during the CurveZMQ handshake";
      return std::nullopt;
    case ZMQ_EVENT_CONNECT_RETRIED:
    case ZMQ_EVENT_CLOSED:
      if (last_problem.empty()) last_problem = "connection refused";
      return std::nullopt;
    case ZMQ_EVENT_DISCONNECTED:
      last_problem = "the connection was closed before the handshake finished";
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace

ReachResult probe_endpoint(zmq::context_t& context, const CurvePublicKey& server_key, const std::string& endpoint,
                           std::chrono::milliseconds timeout, const CurveKeyPair* identity) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(server_key.data(), server_key.size()));
  if (identity) {
    socket.set(zmq::sockopt::curve_publickey, zmq::const_buffer(identity->public_key.data(), identity->public_key.size()));
    socket.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(identity->secret_key.data(), identity->secret_key.size()));
  } else {
    char public_text[41], secret_text[41];
    if (zmq_curve_keypair(public_text, secret_text) != 0) return {false, "cannot make a CURVE key"};
    std::array<std::uint8_t, 32> public_key{}, secret_key{};
    zmq_z85_decode(public_key.data(), public_text);
    zmq_z85_decode(secret_key.data(), secret_text);
    socket.set(zmq::sockopt::curve_publickey, zmq::const_buffer(public_key.data(), public_key.size()));
    socket.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(secret_key.data(), secret_key.size()));
    std::memset(secret_text, 0, sizeof secret_text);
    secret_key.fill(0);
  }
  socket.set(zmq::sockopt::reconnect_ivl, 200);
  socket.set(zmq::sockopt::connect_timeout, static_cast<int>(timeout.count()));

  const auto address = monitor_address();
  if (zmq_socket_monitor(socket.handle(), address.c_str(), ZMQ_EVENT_ALL) != 0) return {false, "cannot monitor a socket"};
  zmq::socket_t monitor(context, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect(address);
  try {
    socket.connect(endpoint);
  } catch (const zmq::error_t& error) {
    return {false, "not a usable endpoint (" + endpoint + "): " + error.what()};
  }
  const auto deadline = Clock::now() + timeout;
  std::string problem;
  while (const auto event = next_event(monitor, deadline))
    if (auto result = judge(*event, problem)) return *result;
  return {false, problem.empty() ? "no answer within " + seconds_text(timeout) : problem + " (tried for " + seconds_text(timeout) + ")"};
}

}  // namespace tessera::net

namespace tessera::net {

std::optional<std::string> tcp_connect_problem(const std::string& host, std::uint16_t port,
                                               std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    return "cannot resolve " + host;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("cannot open a socket: ") + std::strerror(errno);
  std::optional<std::string> problem;
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
    problem = std::strerror(errno);
  } else {
    pollfd item{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    if (::poll(&item, 1, static_cast<int>(timeout.count())) <= 0)
      problem = "no answer within " + seconds_text(timeout);
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
      problem = std::strerror(error ? error : errno);
  }
  ::close(fd);
  return problem;
}

}  // namespace tessera::net
