// TCP sockets for the relay: see socket_io.h.
#include "core/relay/socket_io.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace tessera::relay {
namespace {

using AddrInfo = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

AddrInfo resolve(const std::string& host, std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  const auto service = std::to_string(port);
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  return AddrInfo(found, &freeaddrinfo);
}

std::string where(const std::string& host, std::uint16_t port) { return tcp_endpoint(host, port).substr(6); }

int milliseconds_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

// Completes a non-blocking connect: an empty string when connected, else why not.
std::string finish_connect(int fd, Clock::time_point deadline, int stop_fd) {
  switch (wait_for(fd, POLLOUT, deadline, stop_fd)) {
    case WaitResult::TimedOut: return "timed out";
    case WaitResult::Stopped: return "stopped";
    case WaitResult::Ready: break;
  }
  int error = 0;
  socklen_t length = sizeof(error);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  return error == 0 ? std::string() : std::strerror(error);
}

}  // namespace

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    throw std::runtime_error(std::string("cannot make a socket non-blocking: ") + std::strerror(errno));
}

sys::UniqueFd listen_tcp(const std::string& host, std::uint16_t port, int backlog) {
  const auto addresses = resolve(host, port, true);
  std::string error = "no address";
  for (auto* a = addresses.get(); a != nullptr; a = a->ai_next) {
    sys::UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) continue;
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd.get(), backlog) == 0) {
      set_nonblocking(fd.get());
      return fd;
    }
    error = std::strerror(errno);
  }
  throw std::runtime_error("cannot listen on " + where(host, port) + ": " + error);
}

std::uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error(std::string("cannot read a socket's port: ") + std::strerror(errno));
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

sys::UniqueFd connect_tcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                          int stop_fd) {
  const auto deadline = Clock::now() + timeout;
  const auto addresses = resolve(host, port, false);
  std::string error = "no address";
  for (auto* a = addresses.get(); a != nullptr; a = a->ai_next) {
    sys::UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) continue;
    set_nonblocking(fd.get());
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) {
      error = std::strerror(errno);
      continue;
    }
    error = finish_connect(fd.get(), deadline, stop_fd);
    if (error.empty()) return fd;
  }
  throw std::runtime_error("cannot connect to " + where(host, port) + ": " + error);
}

sys::UniqueFd accept_tcp(int listener) {
  sys::UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (fd.get() >= 0) {
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

WaitResult wait_for(int fd, short events, Clock::time_point deadline, int stop_fd) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int rc = ::poll(fds, stop_fd >= 0 ? 2 : 1, milliseconds_until(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (stop_fd >= 0 && (fds[1].revents & POLLIN)) return WaitResult::Stopped;
    if (rc > 0 && fds[0].revents != 0) return WaitResult::Ready;  // errors and hang-ups included
    if (Clock::now() >= deadline) return WaitResult::TimedOut;
  }
}

bool send_all(int fd, std::span<const std::uint8_t> bytes, Clock::time_point deadline, int stop_fd) {
  while (!bytes.empty()) {
    const auto sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_for(fd, POLLOUT, deadline, stop_fd) != WaitResult::Ready) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool recv_exact(int fd, std::span<std::uint8_t> bytes, Clock::time_point deadline, int stop_fd) {
  while (!bytes.empty()) {
    const auto got = ::recv(fd, bytes.data(), bytes.size(), MSG_DONTWAIT);
    if (got > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(got));
      continue;
    }
    if (got == 0) return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    if (wait_for(fd, POLLIN, deadline, stop_fd) != WaitResult::Ready) return false;
  }
  return true;
}

std::string tcp_endpoint(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

StopPipe::Ends StopPipe::make_pipe() {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  return {fds[0], fds[1]};
}

void StopPipe::signal() {
  const std::uint8_t byte = 1;
  [[maybe_unused]] const auto ignored = ::write(write_.get(), &byte, 1);
}

}  // namespace tessera::relay
