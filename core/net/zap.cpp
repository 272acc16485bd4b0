// ZAP (ZeroMQ RFC 27) over a REP socket: admit CURVE clients on the allowlist, refuse the rest.
#include "core/net/zap.h"

#include "core/wallet/encoding.h"

#include <algorithm>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

namespace tessera::net {

void PeerAllowlist::allow(const CurvePublicKey& key) {
  std::lock_guard lock(mutex_);
  keys_.insert(key);
}

void PeerAllowlist::revoke(const CurvePublicKey& key) {
  std::lock_guard lock(mutex_);
  keys_.erase(key);
}

void PeerAllowlist::replace(std::set<CurvePublicKey> keys) {
  std::lock_guard lock(mutex_);
  keys_ = std::move(keys);
}

bool PeerAllowlist::contains(const CurvePublicKey& key) const {
  std::lock_guard lock(mutex_);
  return keys_.count(key) != 0;
}

ZapHandler::ZapHandler(zmq::context_t& context, std::shared_ptr<const PeerAllowlist> allowlist)
    : allowlist_(std::move(allowlist)), socket_(std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep)) {
  socket_->set(zmq::sockopt::linger, 0);
  socket_->bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this] { serve(); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::serve() {
  zmq::socket_t& socket = *socket_;
  while (!stop_) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) continue;
    // Request: version, request id, domain, address, identity, mechanism, credentials…
    std::vector<zmq::message_t> frames;
    do {
      zmq::message_t frame;
      if (!socket.recv(frame, zmq::recv_flags::none)) break;
      frames.push_back(std::move(frame));
    } while (socket.get(zmq::sockopt::rcvmore));
    const auto frame_text = [&](std::size_t i) { return i < frames.size() ? frames[i].to_string() : std::string(); };
    const std::string request_id = frame_text(1);
    const std::string mechanism = frame_text(5);
    bool admit = false;
    std::string user_id;
    // A REP socket must answer every request, so a malformed one is refused rather than skipped.
    if (frame_text(0) == "1.0" && mechanism == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
      CurvePublicKey key{};
      std::copy_n(static_cast<const std::uint8_t*>(frames[6].data()), key.size(), key.begin());
      admit = allowlist_->contains(key);
      user_id = wallet::to_hex(key);
    }
    if (admit) {
      ++admitted_;
    } else {
      ++refused_;
      spdlog::warn("refused a connection from {} ({}): its key is not listed for this run",
                   frame_text(3), user_id.empty() ? mechanism : user_id.substr(0, 16));
    }
    const std::string status = admit ? "200" : "400";
    const std::string text = admit ? "OK" : "peer not listed for this run";
    socket.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(status), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(text), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(admit ? user_id : std::string()), zmq::send_flags::sndmore);
    socket.send(zmq::message_t(), zmq::send_flags::none);
  }
  socket.close();
}

}  // namespace tessera::net
