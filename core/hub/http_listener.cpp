// A hub HTTP server on its own thread (see http_listener.h).
#include "core/hub/http_listener.h"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace tessera::hub {

HttpListener::HttpListener(std::string name, const net::HttpServerLimits& limits, net::BodyLimits bodies,
                           net::RefusalWriter refuse)
    : name_(std::move(name)), stats_(name_), server_(std::make_unique<httplib::Server>()) {
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
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void HttpListener::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace tessera::hub
