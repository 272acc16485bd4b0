// NatLab, sockets in a namespace, the echo server and the client exchange (see nat_lab.h).
#include "nat_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tessera::test {
namespace {

sockaddr_in ipv4(const std::string& address, std::uint16_t port) {
  sockaddr_in result{};
  result.sin_family = AF_INET;
  result.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &result.sin_addr) != 1) throw std::runtime_error("not an IPv4 address: " + address);
  return result;
}

bool wait_for(int fd, short events, int timeout_ms) {
  pollfd entry{.fd = fd, .events = events, .revents = 0};
  return ::poll(&entry, 1, timeout_ms) == 1;
}

}  // namespace

void NatLab::start(bool with_miniupnpd) {
  lab_ = std::make_unique<NetworkLab>("nat");
  wan_ = lab_->add_host("wan", "198.51.100.2");
  home_ = lab_->add_home("home", kRouterWanAddress, with_miniupnpd);
}

EchoServer::EchoServer(const std::string& netns, std::uint16_t port) : listener_(socket_in(netns, SOCK_STREAM)) {
  const int yes = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  const sockaddr_in address = ipv4("0.0.0.0", port);
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_.get(), 8) != 0)
    throw std::runtime_error("echo server cannot listen on port " + std::to_string(port) + ": " + std::strerror(errno));
  thread_ = std::thread([this] { serve(); });
}

EchoServer::~EchoServer() {
  stopping_ = true;
  thread_.join();
}

void EchoServer::serve() {
  std::array<char, 4096> buffer{};
  while (!stopping_) {
    if (!wait_for(listener_.get(), POLLIN, 100)) continue;
    const sys::UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection.get() < 0) continue;
    while (!stopping_ && wait_for(connection.get(), POLLIN, 3000)) {
      const ssize_t length = ::recv(connection.get(), buffer.data(), buffer.size(), 0);
      if (length <= 0 || ::send(connection.get(), buffer.data(), static_cast<size_t>(length), MSG_NOSIGNAL) != length) break;
    }
  }
}

std::string exchange(const std::string& netns, const std::string& address, std::uint16_t port,
                     const std::string& message) {
  const sys::UniqueFd socket = socket_in(netns, SOCK_STREAM);
  ::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) | O_NONBLOCK);
  const sockaddr_in target = ipv4(address, port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0 && errno != EINPROGRESS)
    return std::string("error: connect: ") + std::strerror(errno);
  if (!wait_for(socket.get(), POLLOUT, 3000)) return "error: connect timed out";
  int error = 0;
  socklen_t size = sizeof error;
  ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &size);
  if (error != 0) return std::string("error: connect: ") + std::strerror(error);
  if (::send(socket.get(), message.data(), message.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(message.size()))
    return std::string("error: send: ") + std::strerror(errno);
  std::string reply;
  std::array<char, 4096> buffer{};
  while (reply.size() < message.size()) {
    if (!wait_for(socket.get(), POLLIN, 3000)) return "error: no answer within 3 s";
    const ssize_t length = ::recv(socket.get(), buffer.data(), buffer.size(), 0);
    if (length <= 0) return "error: connection closed after " + std::to_string(reply.size()) + " bytes";
    reply.append(buffer.data(), static_cast<size_t>(length));
  }
  return reply;
}

}  // namespace tessera::test
