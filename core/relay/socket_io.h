// TCP sockets for the relay: listening and connecting with a timeout (IPv4, IPv6 and DNS names),
// non-blocking I/O, and the waits the relay's threads use. Every wait also watches a stop fd (the
// read end of a pipe that becomes readable when the owner shuts down), so no thread outlives its
// owner by more than one poll() wake-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "core/sys/unique_fd.h"

namespace tessera::relay {

using Clock = std::chrono::steady_clock;

// A listening socket on host:port (port 0: a free one). Throws std::runtime_error naming the address.
sys::UniqueFd listen_tcp(const std::string& host, std::uint16_t port, int backlog = 64);
// The port a bound socket has.
std::uint16_t local_port(int fd);
// A connected, non-blocking socket, or std::runtime_error naming the address and why.
sys::UniqueFd connect_tcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                          int stop_fd = -1);
// The next connection on a non-blocking listener, non-blocking itself; -1 when none is waiting or
// accept() failed (errno says which: EMFILE when out of file descriptors).
sys::UniqueFd accept_tcp(int listener);

void set_nonblocking(int fd);

// Waits until `fd` has `events` (POLLIN/POLLOUT), the deadline passes or `stop_fd` is readable.
enum class WaitResult { Ready, TimedOut, Stopped };
WaitResult wait_for(int fd, short events, Clock::time_point deadline, int stop_fd);

// All of `bytes`, or false (timeout, stop, or the peer is gone). Never raises SIGPIPE.
bool send_all(int fd, std::span<const std::uint8_t> bytes, Clock::time_point deadline, int stop_fd);
// Exactly bytes.size() bytes, or false (timeout, stop, end of stream or error).
bool recv_exact(int fd, std::span<std::uint8_t> bytes, Clock::time_point deadline, int stop_fd);

// "tcp://host:port", with brackets around an IPv6 literal.
std::string tcp_endpoint(const std::string& host, std::uint16_t port);

// A pipe whose read end becomes readable, for good, once `signal()` is called: the stop fd.
class StopPipe {
 public:
  StopPipe() : StopPipe(make_pipe()) {}
  int fd() const { return read_.get(); }
  void signal();

 private:
  struct Ends {
    int read = -1;
    int write = -1;
  };
  static Ends make_pipe();
  explicit StopPipe(Ends ends) : read_(ends.read), write_(ends.write) {}
  sys::UniqueFd read_;
  sys::UniqueFd write_;
};

}  // namespace tessera::relay
