// Byte splicing between two sockets: see splice.h.
#include "core/relay/splice.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

namespace tessera::relay {
namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;
constexpr int kIdlePollMs = 60'000;  // an idle stream wakes once a minute, for nothing

// One direction: bytes read from `from` wait in `buffer` until written to `to`.
struct Direction {
  int from = -1;
  int to = -1;
  std::atomic<std::uint64_t>* written = nullptr;
  std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(kBufferBytes);
  std::size_t offset = 0;
  std::size_t length = 0;
  bool ended = false;  // `from` sent its end and everything before it was written

  bool wants_read() const { return length == 0 && !ended; }
  bool wants_write() const { return length > offset; }
  bool finished() const { return ended && !wants_write(); }
};

bool is_transient(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

// Writes what is buffered; false when `to` failed.
bool flush(Direction& d) {
  while (d.wants_write()) {
    const auto sent = ::send(d.to, d.buffer.data() + d.offset, d.length - d.offset, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) return is_transient(errno);
    d.offset += static_cast<std::size_t>(sent);
    d.written->fetch_add(static_cast<std::uint64_t>(sent), std::memory_order_relaxed);
  }
  d.offset = d.length = 0;
  return true;
}

// Reads what is available and passes it on; false when either side failed.
bool pump(Direction& d) {
  if (!d.wants_read()) return flush(d);
  const auto got = ::recv(d.from, d.buffer.data(), d.buffer.size(), MSG_DONTWAIT);
  if (got < 0) return is_transient(errno);
  if (got == 0) {
    d.ended = true;
    ::shutdown(d.to, SHUT_WR);
    return true;
  }
  d.offset = 0;
  d.length = static_cast<std::size_t>(got);
  return flush(d);
}

short events_for(const Direction& reading, const Direction& writing) {
  return static_cast<short>((reading.wants_read() ? POLLIN : 0) | (writing.wants_write() ? POLLOUT : 0));
}

}  // namespace

void splice(int a, int b, int stop_fd, std::atomic<std::uint64_t>& a_to_b, std::atomic<std::uint64_t>& b_to_a) {
  Direction forward{a, b, &a_to_b};
  Direction backward{b, a, &b_to_a};
  while (!(forward.finished() && backward.finished())) {
    const short a_events = events_for(forward, backward);
    const short b_events = events_for(backward, forward);
    pollfd fds[3] = {{a_events ? a : -1, a_events, 0}, {b_events ? b : -1, b_events, 0}, {stop_fd, POLLIN, 0}};
    const int rc = ::poll(fds, 3, kIdlePollMs);
    if (rc < 0 && errno != EINTR) return;
    if (fds[2].revents != 0) return;
    if (((fds[0].revents | fds[1].revents) & (POLLERR | POLLNVAL)) != 0) return;
    if (fds[0].revents != 0 && !pump(forward)) return;
    if (fds[1].revents != 0 && !pump(backward)) return;
    if (fds[1].revents != 0 && forward.wants_write() && !flush(forward)) return;
    if (fds[0].revents != 0 && backward.wants_write() && !flush(backward)) return;
  }
}

}  // namespace tessera::relay
