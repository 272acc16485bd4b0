// The relayed node's side: one thread watches the control connection (streams announced,
// keepalives), one thread per stream claims and splices it. See relay_link.h.
#include "core/relay/relay_link.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/relay/control_frame.h"
#include "core/relay/socket_io.h"

namespace tessera::relay {
namespace {

sys::UniqueFd connect_to_relay(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  try {
    return connect_tcp(host, port, timeout);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("the relay cannot be reached: ") + e.what());
  }
}

struct StreamThread {
  std::thread thread{};
  std::shared_ptr<std::atomic<bool>> done{};
};

}  // namespace

class RelayLink::Impl {
 public:
  Impl(const std::string& relay_host, std::uint16_t relay_port, const wallet::KeyPair& node_key,
       std::string local_host, std::uint16_t local_port, RelayLinkOptions options)
      : relay_host_(relay_host),
        relay_port_(relay_port),
        local_host_(std::move(local_host)),
        local_port_(local_port),
        options_(options),
        control_(connect_to_relay(relay_host, relay_port, options.connect_timeout)) {
    if (options_.keepalive.count() <= 0) throw std::invalid_argument("relay link: the keepalive must be positive");
    register_with(node_key);
    loop_ = std::thread([this] { run(); });
  }

  ~Impl() {
    stop_.signal();
    if (loop_.joinable()) loop_.join();
    for (auto& stream : streams_) stream.thread.join();  // each saw the stop fd
  }

  std::string public_endpoint() const { return endpoint_; }
  bool alive() const { return alive_.load(); }
  std::string failure() const {
    std::lock_guard lock(failure_mutex_);
    return failure_;
  }
  RelayedBytes bytes() const { return counters_.snapshot(); }

 private:
  void register_with(const wallet::KeyPair& node_key);
  void run();
  bool on_control_readable();
  bool on_frame(const Frame& frame);
  void start_stream(const StreamId& id);
  void serve_stream(const StreamId& id);
  void fail(const std::string& why);
  void reap_streams();

  const std::string relay_host_;
  const std::uint16_t relay_port_;
  const std::string local_host_;
  const std::uint16_t local_port_;
  const RelayLinkOptions options_;
  StopPipe stop_;
  sys::UniqueFd control_;
  FrameReader reader_;
  std::string endpoint_;
  Clock::time_point last_received_{};
  Clock::time_point last_sent_{};

  ByteCounters counters_;
  std::atomic<bool> alive_{true};
  mutable std::mutex failure_mutex_;
  std::string failure_;
  std::list<StreamThread> streams_;  // the control thread's; joined by the destructor
  std::thread loop_;
};

void RelayLink::Impl::register_with(const wallet::KeyPair& node_key) {
  const auto deadline = Clock::now() + options_.connect_timeout;
  const auto where = tcp_endpoint(relay_host_, relay_port_).substr(6);
  try {
    const auto challenge = decode_challenge(read_frame(control_.get(), deadline, -1));
    if (!send_frame(control_.get(), encode_hello(answer_challenge(challenge, node_key)), deadline, -1))
      throw std::runtime_error("the relay stopped reading");
    const auto answer = read_frame(control_.get(), deadline, -1);
    if (answer.type == FrameType::Refused)
      throw std::runtime_error("the relay refused this node: " + decode_refused(answer));
    const auto accepted = decode_accepted(answer);
    endpoint_ = tcp_endpoint(accepted.host, accepted.port);
  } catch (const std::exception& e) {
    throw std::runtime_error("relay " + where + ": " + e.what());
  }
  last_received_ = last_sent_ = Clock::now();
  spdlog::info("relay link: reachable at {} through the relay at {}", endpoint_, where);
}

void RelayLink::Impl::run() {
  for (;;) {
    const auto now = Clock::now();
    const auto next = std::min(last_sent_ + options_.keepalive, last_received_ + 2 * options_.keepalive);
    const auto wait_ms = std::clamp<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1, 0, 60'000);
    pollfd fds[2] = {{control_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    ::poll(fds, 2, static_cast<int>(wait_ms));
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0 && !on_control_readable()) return;
    reap_streams();
    if (Clock::now() - last_received_ > 2 * options_.keepalive)
      return fail("the relay has been silent for two keepalive periods");
    if (Clock::now() - last_sent_ >= options_.keepalive) {
      if (!send_all(control_.get(), encode_frame(FrameType::Ping), Clock::now(), -1))
        return fail("the relay stopped reading the control connection");
      last_sent_ = Clock::now();
    }
  }
}

bool RelayLink::Impl::on_control_readable() {
  for (;;) {
    switch (reader_.read(control_.get())) {
      case FrameReader::Status::Partial: return true;
      case FrameReader::Status::Closed: fail("the relay closed the control connection"); return false;
      case FrameReader::Status::Garbage: fail("the relay sent a frame outside the relay protocol"); return false;
      case FrameReader::Status::Frame: break;
    }
    last_received_ = Clock::now();
    if (!on_frame(reader_.take())) return false;
  }
}

bool RelayLink::Impl::on_frame(const Frame& frame) {
  switch (frame.type) {
    case FrameType::Ping:
      if (!send_all(control_.get(), encode_frame(FrameType::Pong), Clock::now(), -1)) {
        fail("the relay stopped reading the control connection");
        return false;
      }
      last_sent_ = Clock::now();
      return true;
    case FrameType::Pong: return true;
    case FrameType::Stream:
      try {
        start_stream(decode_stream_id(frame));
      } catch (const std::exception& e) {  // no thread for it: the relay closes the peer unclaimed
        spdlog::warn("relay link: cannot serve a stream: {}", e.what());
      }
      return true;
    default: fail("the relay sent an unexpected frame"); return false;
  }
}

void RelayLink::Impl::start_stream(const StreamId& id) {
  if (streams_.size() >= options_.max_streams) return;  // the relay will close the peer when unclaimed
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, id, done] {
    serve_stream(id);
    done->store(true);
  });
  streams_.push_back({std::move(thread), std::move(done)});
}

void RelayLink::Impl::serve_stream(const StreamId& id) {
  try {
    const auto relay = connect_tcp(relay_host_, relay_port_, options_.connect_timeout, stop_.fd());
    const auto deadline = Clock::now() + options_.connect_timeout;
    decode_challenge(read_frame(relay.get(), deadline, stop_.fd()));  // unanswered: this connection claims
    if (!send_frame(relay.get(), encode_frame(FrameType::Claim, id), deadline, stop_.fd())) return;
    const auto local = connect_tcp(local_host_, local_port_, options_.connect_timeout, stop_.fd());
    counters_.streams.fetch_add(1);
    splice(relay.get(), local.get(), stop_.fd(), counters_.to_client, counters_.from_client);
  } catch (const std::exception& e) {
    spdlog::warn("relay link: a relayed stream could not be served: {}", e.what());
  }
}

void RelayLink::Impl::fail(const std::string& why) {
  {
    std::lock_guard lock(failure_mutex_);
    failure_ = why;
  }
  alive_ = false;
  ::shutdown(control_.get(), SHUT_RDWR);  // the relay hears it at once
  spdlog::warn("relay link to {}: {}", endpoint_, why);
}

void RelayLink::Impl::reap_streams() {
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

RelayLink::RelayLink(const std::string& relay_host, std::uint16_t relay_port, const wallet::KeyPair& node_key,
                     std::string local_host, std::uint16_t local_port, RelayLinkOptions options)
    : impl_(std::make_unique<Impl>(relay_host, relay_port, node_key, std::move(local_host), local_port, options)) {}
RelayLink::~RelayLink() = default;
std::string RelayLink::public_endpoint() const { return impl_->public_endpoint(); }
bool RelayLink::alive() const { return impl_->alive(); }
std::string RelayLink::failure() const { return impl_->failure(); }
RelayedBytes RelayLink::bytes() const { return impl_->bytes(); }

}  // namespace tessera::relay
