// A hub HTTP server on its own thread (see http_listener.h).
#include "core/hub/http_listener.h"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "core/hub/tls_identity.h"

namespace tessera::hub {
namespace {

std::unique_ptr<httplib::Server> make_server(const std::string& name, const TlsIdentity* tls) {
  if (!tls) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>(tls->certificate(), tls->key());
  if (!server->is_valid()) throw std::runtime_error("the " + name + " server cannot use its TLS certificate and key");
  return server;
}

// The port a socket is bound to, -1 for one that is not an IPv4/IPv6 socket.
int bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return -1;
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return -1;
}

// cpp-httplib 0.11 (compiled into Debian's library, so its CPPHTTPLIB_LISTEN_BACKLOG cannot be
// changed here) listens with a backlog of 5: a burst of clients (sixteen completions at once)
// overflows the accept queue, and the kernel drops their handshakes (a retry a second later, or a
// failed request). listen() again on this process's socket bound to `port` raises it. Where
// /proc/self/fd does not exist (macOS, Windows) this does nothing.
void widen_backlog(int port) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 || !accepting) continue;
    if (bound_port(fd) == port) ::listen(fd, SOMAXCONN);
  }
}

}  // namespace

HttpListener::HttpListener(std::string name, const net::HttpServerLimits& limits, net::BodyLimits bodies,
                           net::RefusalWriter refuse, const TlsIdentity* tls)
    : name_(std::move(name)), stats_(name_), server_(make_server(name_, tls)) {
  net::limit_requests(*server_, limits, std::move(bodies), std::move(refuse));
  server_->set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    stats_.record(request, response);
  });
}

HttpListener::~HttpListener() { stop(); }

void HttpListener::start(const std::string& host, int port) {
  if (thread_.joinable()) throw std::logic_error("the " + name_ + " server is already running");
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0)
    throw std::runtime_error("the " + name_ + " server cannot listen on " + host + ":" + std::to_string(port) +
                             " (address in use?)");
  widen_backlog(port_);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void HttpListener::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace tessera::hub
