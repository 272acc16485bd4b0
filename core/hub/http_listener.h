// One cpp-httplib server of the hub, bound and served on its own thread, with its request limits
// (net::limit_requests) and its outcome counters (RequestStats): the hub runs one for its API and
// one for the inference gateway, so neither can take the other's workers. Given a TlsIdentity it
// serves HTTPS (httplib::SSLServer) with that certificate, else plain HTTP.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "core/hub/request_stats.h"
#include "core/net/http_limits.h"

namespace httplib {
class Server;
}

namespace tessera::hub {

class TlsIdentity;

class HttpListener {
 public:
  // `name` says which server it is in errors and log lines ("hub API", "gateway"). `tls` (may be
  // null: plain HTTP) is only read here; OpenSSL keeps its own references.
  HttpListener(std::string name, const net::HttpServerLimits& limits, net::BodyLimits bodies,
               net::RefusalWriter refuse = {}, const TlsIdentity* tls = nullptr);
  ~HttpListener();  // stops
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Mount routes here before start().
  httplib::Server& server() { return *server_; }
  // Binds (port 0: a free one) and serves on a thread; throws std::runtime_error when it cannot bind.
  void start(const std::string& host, int port);
  void stop();
  int port() const { return port_; }
  const RequestStats& stats() const { return stats_; }

 private:
  std::string name_;
  RequestStats stats_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tessera::hub
