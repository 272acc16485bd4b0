// An HTTP (or, with httplib::SSLServer, HTTPS) server on 127.0.0.1 with a free port, for tests
// that stand in for a hub: mount routes on `server`, then start(); stopped and joined on
// destruction. The constructor's arguments go to the server's (an SSLServer's certificate and key).
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>

namespace tessera::test {

template <typename Server>
struct BasicLocalServer {
  template <typename... Arguments>
  explicit BasicLocalServer(Arguments&&... arguments) : server(std::forward<Arguments>(arguments)...) {}
  Server server;
  std::thread thread;
  int port = 0;
  void start() {
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  ~BasicLocalServer() {
    server.stop();
    if (thread.joinable()) thread.join();
  }
};

using LocalServer = BasicLocalServer<httplib::Server>;

}  // namespace tessera::test
