// A gateway for clients outside the test process (test_openai_client's Python script): the
// GatewayController on 127.0.0.1 with a free port over the fixed next-token table of
// tests/support/gateway_server.h (a closed gateway, the hub's own billing over an in-memory store,
// a 512-token context). Prints its base URL and a valid API key, one a line, on stdout; runs until
// SIGTERM or SIGINT, or until its stdin is closed. Usage: gateway_fixture
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <pthread.h>

#include "tests/support/gateway_server.h"

namespace {

// Waits for a stop signal or the end of stdin, whichever comes first.
// The state is static and the process ends with _Exit: the waiter that did not fire may still
// use it until then.
void wait_for_stop(sigset_t stop_signals) {
  static std::mutex mutex;
  static std::condition_variable stopped;
  static bool stop = false;
  static const auto request_stop = [] {
    std::lock_guard lock(mutex);
    stop = true;
    stopped.notify_all();
  };
  std::thread([stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    request_stop();
  }).detach();
  std::thread([] {
    for (std::string line; std::getline(std::cin, line);) {
    }
    request_stop();
  }).detach();
  std::unique_lock lock(mutex);
  stopped.wait(lock, [] { return stop; });
}

}  // namespace

int main() {
  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto limits = tessera::test::small_gateway_limits();
  limits.context = 512;
  tessera::test::GatewayServer gateway(/*open*/ false, /*price per 1k*/ 1000, limits);
  const auto key = gateway.keys.add("openai-client", 1'000'000);
  std::cout << gateway.url() << '\n' << key.key << std::endl;

  wait_for_stop(stop_signals);
  gateway.server.stop();
  std::cout.flush();
  std::_Exit(0);
}
