// The relay's server side: one poll thread owns every control connection, public port and waiting
// peer; each claimed stream is spliced on a thread of its own. See relay_server.h.
#include "core/relay/relay_server.h"

#include <poll.h>
#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <list>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/relay/server_state.h"
#include "core/wallet/encoding.h"

namespace tessera::relay {
namespace {

constexpr int kMaxPollMs = 60'000;
// Out of file descriptors, accept() fails while the listener stays readable: the listeners rest
// this long instead of spinning.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

RelayServerOptions checked(RelayServerOptions options) {
  if (options.public_host.empty() || options.public_host.size() > 255)
    throw std::invalid_argument(
        "relay: public_host must name this relay's address as peers reach it (1-255 characters)");
  if (options.keepalive.count() <= 0 || options.claim_timeout.count() <= 0 || options.handshake_timeout.count() <= 0)
    throw std::invalid_argument("relay: keepalive, claim and handshake timeouts must be positive");
  if (options.public_port_first != 0 && options.public_port_last < options.public_port_first)
    throw std::invalid_argument("relay: the public port range ends before it starts");
  if (sodium_init() < 0) throw std::runtime_error("relay: libsodium cannot be initialised");
  return options;
}

// Sends a control frame without waiting: control frames are tiny, so a full socket buffer means
// the other side stopped reading.
bool send_now(int fd, const std::vector<std::uint8_t>& frame) { return send_all(fd, frame, Clock::now(), -1); }

template <typename Array>
Array random_bytes() {
  Array bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return bytes;
}

}  // namespace

class RelayServer::Impl {
 public:
  explicit Impl(RelayServerOptions options)
      : options_(checked(std::move(options))),
        listener_(listen_tcp(options_.bind_host, options_.port)),
        port_(local_port(listener_.get())),
        loop_([this] { run(); }) {}

  ~Impl() {
    stop_.signal();
    loop_.join();
  }

  std::uint16_t port() const { return port_; }
  std::size_t clients() const { return client_count_.load(); }

  std::map<wallet::PublicKey, RelayedBytes> relayed() const {
    std::lock_guard lock(counters_mutex_);
    std::map<wallet::PublicKey, RelayedBytes> out;
    for (const auto& [key, counters] : counters_) out[key] = counters->snapshot();
    return out;
  }

 private:
  enum class Source { Stop, Listener, Handshake, Control, PublicPort };
  struct Ready {
    Source source = Source::Stop;
    std::uint64_t serial = 0;
  };

  void run();
  std::vector<Ready> wait_for_events();
  int poll_timeout_ms(Clock::time_point now) const;
  void handle(const Ready& ready);
  void accept_handshakes();
  void on_handshake(std::uint64_t serial);
  void on_hello(std::uint64_t serial, Handshake& handshake, const Frame& frame);
  void on_claim(std::uint64_t serial, Handshake& handshake, const Frame& frame);
  void refuse(std::uint64_t serial, Handshake& handshake, const std::string& reason);
  sys::UniqueFd open_public_port();
  void register_client(Handshake& handshake, const wallet::PublicKey& key);
  void on_control(std::uint64_t serial);
  void on_public_port(std::uint64_t serial);
  void drop_client(std::uint64_t serial, const char* why);
  void expire(Clock::time_point now);
  void start_splice(WaitingStream waiting, sys::UniqueFd claimed, ClientSession& session);
  void reap_splices(bool all);
  void pause_accepting_if_out_of_fds();
  std::shared_ptr<ByteCounters> counters_for(const wallet::PublicKey& key);
  ClientSession* session_for(const wallet::PublicKey& key, std::uint64_t* serial = nullptr);

  const RelayServerOptions options_;
  StopPipe stop_;
  sys::UniqueFd listener_;
  const std::uint16_t port_;

  // The poll thread's own state.
  std::uint64_t next_serial_ = 1;
  std::map<std::uint64_t, Handshake> handshakes_;
  std::map<std::uint64_t, ClientSession> sessions_;
  std::map<StreamId, WaitingStream> waiting_;
  std::list<SpliceThread> splices_;
  Clock::time_point accept_paused_until_{};

  // Read from other threads.
  std::atomic<std::size_t> client_count_{0};
  mutable std::mutex counters_mutex_;
  std::map<wallet::PublicKey, std::shared_ptr<ByteCounters>> counters_;

  std::thread loop_;  // last: starts once everything above exists
};

void RelayServer::Impl::run() {
  for (;;) {
    const auto ready = wait_for_events();
    if (!ready.empty() && ready.front().source == Source::Stop) break;
    for (const auto& r : ready) {
      try {
        handle(r);
      } catch (const std::exception& e) {  // out of memory or threads: that one connection is lost
        spdlog::error("relay: {}", e.what());
      }
    }
    expire(Clock::now());
    reap_splices(false);
  }
  handshakes_.clear();
  waiting_.clear();
  sessions_.clear();
  client_count_ = 0;
  reap_splices(true);  // every splice saw the stop fd too
}

std::vector<RelayServer::Impl::Ready> RelayServer::Impl::wait_for_events() {
  // A negative fd is ignored by poll(): the listeners while accepting rests.
  const bool accepting = Clock::now() >= accept_paused_until_;
  std::vector<pollfd> fds{{stop_.fd(), POLLIN, 0}, {accepting ? listener_.get() : -1, POLLIN, 0}};
  std::vector<Ready> sources{{Source::Stop, 0}, {Source::Listener, 0}};
  for (const auto& [serial, handshake] : handshakes_) {
    fds.push_back({handshake.fd.get(), POLLIN, 0});
    sources.push_back({Source::Handshake, serial});
  }
  for (const auto& [serial, session] : sessions_) {
    fds.push_back({session.control.get(), POLLIN, 0});
    sources.push_back({Source::Control, serial});
    fds.push_back({accepting ? session.listener.get() : -1, POLLIN, 0});
    sources.push_back({Source::PublicPort, serial});
  }
  const int rc = ::poll(fds.data(), fds.size(), poll_timeout_ms(Clock::now()));
  std::vector<Ready> ready;
  if (rc <= 0) return ready;
  if (fds[0].revents != 0) return {sources[0]};
  for (std::size_t i = 1; i < fds.size(); ++i)
    if (fds[i].revents != 0) ready.push_back(sources[i]);
  return ready;
}

int RelayServer::Impl::poll_timeout_ms(Clock::time_point now) const {
  auto next = now + std::chrono::milliseconds(kMaxPollMs);
  if (accept_paused_until_ > now) next = accept_paused_until_;
  for (const auto& [serial, handshake] : handshakes_) next = std::min(next, handshake.deadline);
  for (const auto& [id, waiting] : waiting_) next = std::min(next, waiting.deadline);
  for (const auto& [serial, session] : sessions_) {
    next = std::min(next, session.last_sent + options_.keepalive);
    next = std::min(next, session.last_received + 2 * options_.keepalive);
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<long long>(left + 1, 0, kMaxPollMs));
}

void RelayServer::Impl::handle(const Ready& ready) {
  switch (ready.source) {
    case Source::Stop: return;
    case Source::Listener: return accept_handshakes();
    case Source::Handshake: return on_handshake(ready.serial);
    case Source::Control: return on_control(ready.serial);
    case Source::PublicPort: return on_public_port(ready.serial);
  }
}

void RelayServer::Impl::accept_handshakes() {
  for (;;) {
    auto fd = accept_tcp(listener_.get());
    if (fd.get() < 0) return pause_accepting_if_out_of_fds();
    if (handshakes_.size() >= options_.max_handshakes) continue;  // closed: too many strangers at once
    const auto challenge = random_bytes<Challenge>();
    if (!send_now(fd.get(), encode_frame(FrameType::Challenge, challenge))) continue;
    handshakes_.emplace(next_serial_++,
                        Handshake{std::move(fd), challenge, {}, Clock::now() + options_.handshake_timeout});
  }
}

void RelayServer::Impl::on_handshake(std::uint64_t serial) {
  const auto it = handshakes_.find(serial);
  if (it == handshakes_.end()) return;
  auto& handshake = it->second;
  const auto status = handshake.reader.read(handshake.fd.get());
  if (status == FrameReader::Status::Partial) return;
  if (status != FrameReader::Status::Frame) {
    handshakes_.erase(it);  // closed, or garbage: not a relay client
    return;
  }
  const auto frame = handshake.reader.take();
  if (frame.type == FrameType::Hello) return on_hello(serial, handshake, frame);
  if (frame.type == FrameType::Claim) return on_claim(serial, handshake, frame);
  handshakes_.erase(it);
}

void RelayServer::Impl::refuse(std::uint64_t serial, Handshake& handshake, const std::string& reason) {
  send_now(handshake.fd.get(), encode_refused(reason));
  handshakes_.erase(serial);
}

void RelayServer::Impl::on_hello(std::uint64_t serial, Handshake& handshake, const Frame& frame) {
  const auto hello = decode_hello(frame);
  if (!hello_proves_key(hello, handshake.challenge))
    return refuse(serial, handshake, "the signature over the relay's challenge does not verify for this node key");
  if (session_for(hello.node_key) == nullptr && sessions_.size() >= options_.max_clients)
    return refuse(serial, handshake, "this relay serves " + std::to_string(options_.max_clients) + " nodes already");
  try {
    register_client(handshake, hello.node_key);
  } catch (const std::exception& e) {
    return refuse(serial, handshake, std::string("this relay cannot open a public port: ") + e.what());
  }
  handshakes_.erase(serial);
}

void RelayServer::Impl::register_client(Handshake& handshake, const wallet::PublicKey& key) {
  auto listener = open_public_port();
  const auto public_port = local_port(listener.get());
  std::uint64_t old_serial = 0;
  if (session_for(key, &old_serial) != nullptr) drop_client(old_serial, "replaced by a new connection");
  const auto now = Clock::now();
  const auto serial = next_serial_++;
  ClientSession fresh{key, std::move(handshake.fd), std::move(listener), public_port, {}, now, now, counters_for(key),
                      std::make_shared<std::atomic<std::size_t>>(0)};
  auto& session = sessions_.emplace(serial, std::move(fresh)).first->second;
  ++client_count_;  // before the node hears it is registered
  if (!send_now(session.control.get(), encode_accepted({public_port, options_.public_host})))
    return drop_client(serial, "stopped reading");
  spdlog::info("relay: node {} registered, public port {}", wallet::base58_encode(key), public_port);
}

sys::UniqueFd RelayServer::Impl::open_public_port() {
  if (options_.public_port_first == 0) return listen_tcp(options_.bind_host, 0);
  for (std::uint32_t p = options_.public_port_first; p <= options_.public_port_last; ++p) {
    try {
      return listen_tcp(options_.bind_host, static_cast<std::uint16_t>(p));
    } catch (const std::runtime_error&) {
      // in use: the next one
    }
  }
  throw std::runtime_error("every port of " + std::to_string(options_.public_port_first) + "-" +
                           std::to_string(options_.public_port_last) + " is in use");
}

void RelayServer::Impl::on_claim(std::uint64_t serial, Handshake& handshake, const Frame& frame) {
  const auto it = waiting_.find(decode_stream_id(frame));
  const bool live = it != waiting_.end() && it->second.deadline > Clock::now();
  ClientSession* session = live ? session_for(it->second.key) : nullptr;
  if (session != nullptr) {
    auto waiting = std::move(it->second);
    waiting_.erase(it);
    start_splice(std::move(waiting), std::move(handshake.fd), *session);
  }
  handshakes_.erase(serial);  // unknown, expired or used ids: closed
}

void RelayServer::Impl::on_control(std::uint64_t serial) {
  const auto it = sessions_.find(serial);
  if (it == sessions_.end()) return;
  auto& session = it->second;
  for (;;) {
    const auto status = session.reader.read(session.control.get());
    if (status == FrameReader::Status::Partial) return;
    if (status == FrameReader::Status::Closed) return drop_client(serial, "closed its control connection");
    if (status == FrameReader::Status::Garbage) return drop_client(serial, "sent garbage");
    session.last_received = Clock::now();
    const auto frame = session.reader.take();
    if (frame.type == FrameType::Ping) {
      if (!send_now(session.control.get(), encode_frame(FrameType::Pong)))
        return drop_client(serial, "stopped reading");
      session.last_sent = Clock::now();
    } else if (frame.type != FrameType::Pong) {
      return drop_client(serial, "sent an unexpected frame");
    }
  }
}

void RelayServer::Impl::on_public_port(std::uint64_t serial) {
  const auto it = sessions_.find(serial);
  if (it == sessions_.end()) return;
  auto& session = it->second;
  for (;;) {
    auto peer = accept_tcp(session.listener.get());
    if (peer.get() < 0) return pause_accepting_if_out_of_fds();
    const auto waiting = std::count_if(waiting_.begin(), waiting_.end(),
                                       [&](const auto& w) { return w.second.key == session.key; });
    if (session.active_streams->load() + static_cast<std::size_t>(waiting) >= options_.max_streams_per_client)
      continue;  // closed: this node has as many streams as it may
    const auto id = random_bytes<StreamId>();
    if (!send_now(session.control.get(), encode_frame(FrameType::Stream, id)))
      return drop_client(serial, "stopped reading");
    session.last_sent = Clock::now();
    waiting_.emplace(id, WaitingStream{session.key, std::move(peer), Clock::now() + options_.claim_timeout});
  }
}

void RelayServer::Impl::drop_client(std::uint64_t serial, const char* why) {
  const auto it = sessions_.find(serial);
  if (it == sessions_.end()) return;
  spdlog::info("relay: node {} left ({})", wallet::base58_encode(it->second.key), why);
  std::erase_if(waiting_, [&](const auto& w) { return w.second.key == it->second.key; });
  sessions_.erase(it);  // closes its control connection and public port; its spliced streams go on
  --client_count_;
}

void RelayServer::Impl::expire(Clock::time_point now) {
  std::erase_if(handshakes_, [&](const auto& h) { return h.second.deadline <= now; });
  std::erase_if(waiting_, [&](const auto& w) { return w.second.deadline <= now; });  // unclaimed: closed
  std::vector<std::uint64_t> silent;
  for (auto& [serial, session] : sessions_) {
    if (now - session.last_received > 2 * options_.keepalive) {
      silent.push_back(serial);
    } else if (now - session.last_sent >= options_.keepalive) {
      if (!send_now(session.control.get(), encode_frame(FrameType::Ping))) silent.push_back(serial);
      session.last_sent = now;
    }
  }
  for (const auto serial : silent) drop_client(serial, "silent for two keepalive periods");
}

void RelayServer::Impl::start_splice(WaitingStream waiting, sys::UniqueFd claimed, ClientSession& session) {
  auto counters = session.counters;
  auto active = session.active_streams;
  auto done = std::make_shared<std::atomic<bool>>(false);
  active->fetch_add(1);
  try {
    std::thread thread([peer = std::move(waiting.peer), node = std::move(claimed), stop = stop_.fd(), counters, active,
                        done] {
      splice(peer.get(), node.get(), stop, counters->to_client, counters->from_client);
      active->fetch_sub(1);
      done->store(true);
    });
    splices_.push_back({std::move(thread), std::move(done)});
  } catch (...) {
    active->fetch_sub(1);  // no thread: both sockets closed with the lambda
    throw;
  }
  counters->streams.fetch_add(1);
}

void RelayServer::Impl::pause_accepting_if_out_of_fds() {
  if (errno != EMFILE && errno != ENFILE) return;  // EAGAIN: nobody else waiting
  spdlog::warn("relay: out of file descriptors; not accepting for {} ms (raise the limit: ulimit -n)",
               kAcceptPause.count());
  accept_paused_until_ = Clock::now() + kAcceptPause;
}

void RelayServer::Impl::reap_splices(bool all) {
  for (auto it = splices_.begin(); it != splices_.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = splices_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<ByteCounters> RelayServer::Impl::counters_for(const wallet::PublicKey& key) {
  std::lock_guard lock(counters_mutex_);
  auto& counters = counters_[key];
  if (!counters) counters = std::make_shared<ByteCounters>();
  return counters;
}

ClientSession* RelayServer::Impl::session_for(const wallet::PublicKey& key, std::uint64_t* serial) {
  for (auto& [s, session] : sessions_) {
    if (session.key != key) continue;
    if (serial != nullptr) *serial = s;
    return &session;
  }
  return nullptr;
}

RelayServer::RelayServer(RelayServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
RelayServer::~RelayServer() = default;
std::uint16_t RelayServer::port() const { return impl_->port(); }
std::map<wallet::PublicKey, RelayedBytes> RelayServer::relayed() const { return impl_->relayed(); }
std::size_t RelayServer::clients() const { return impl_->clients(); }

}  // namespace tessera::relay
