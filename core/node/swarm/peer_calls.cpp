// Requests to peers: the client pool, the blocking request and the pipelined links.
#include "core/node/swarm/peer_calls.h"

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "core/wallet/encoding.h"

namespace tessera::node::swarm {

using namespace std::chrono_literals;

namespace {

// The request id a reply names; 0 (no request has it) for anything but an unsigned number.
std::uint64_t request_id(const nlohmann::json& meta) {
  const auto found = meta.find("request");
  return found != meta.end() && found->is_number_unsigned() ? found->get<std::uint64_t>() : 0;
}

}  // namespace

std::string short_key(const wallet::PublicKey& key) { return wallet::to_hex(key).substr(0, 12); }

Reply expect(const Hop& hop, Reply reply, net::MessageKind expected) {
  if (reply.header.kind == net::MessageKind::Error) {
    const auto error = net::ErrorReply::decode(reply.envelope);
    if (error.failed_peer && *error.failed_peer != hop.key) throw PeerFailure(*error.failed_peer, error.message, hop.key);
    throw PeerFailure(hop.key, error.message);
  }
  if (reply.header.kind != expected)
    throw PeerFailure(hop.key, std::string("peer answered ") + net::kind_name(reply.header.kind));
  return reply;
}

PeerCalls::PeerCalls(zmq::context_t& context, const net::CurveKeyPair& identity, const wallet::PublicKey& self,
                     LocalHandler local, net::TrafficMeter* traffic)
    : context_(context), identity_(identity), self_(self), local_(std::move(local)), traffic_(traffic) {}

std::unique_ptr<net::Client> PeerCalls::acquire(const Hop& hop) {
  {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[hop.endpoint + "|" + wallet::to_hex(hop.key)];
    if (!idle.empty()) {
      auto client = std::move(idle.back());
      idle.pop_back();
      return client;
    }
  }
  return std::make_unique<net::Client>(context_, identity_, net::curve_public_from(hop.key), hop.endpoint,
                                       net::WireLimits{}, traffic_);
}

void PeerCalls::release(const Hop& hop, std::unique_ptr<net::Client> client) {
  std::lock_guard lock(mutex_);
  auto& idle = idle_[hop.endpoint + "|" + wallet::to_hex(hop.key)];
  if (idle.size() < 4) idle.push_back(std::move(client));
}

void PeerCalls::clear_pool() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

std::vector<std::uint8_t> PeerCalls::frame(const net::Envelope& message, std::uint64_t& request) {
  request = counter_++;
  auto meta = message.meta;
  meta["request"] = request;
  return net::pack(meta, message.blob);
}

std::optional<Reply> PeerCalls::request(const Hop& hop, const net::MessageHeader& header, const net::Envelope& message,
                                        net::Timeout timeout, Sent* sent) {
  if (hop.key == self_) return local_(header, message);
  std::uint64_t request = 0;
  const auto payload = frame(message, request);
  if (sent) sent->bytes = payload.size();
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<net::Client> client;
  try {
    client = acquire(hop);
  } catch (const std::exception& error) {
    spdlog::warn("cannot reach {} at {}: {}", short_key(hop.key), hop.endpoint, error.what());
    return std::nullopt;
  }
  try {
    if (!client->send(header, payload, timeout, sent ? &sent->hash : nullptr)) {
      spdlog::debug("{} to {}: could not send", net::kind_name(header.kind), short_key(hop.key));
      return std::nullopt;
    }
    while (true) {
      const auto left = std::chrono::duration_cast<net::Timeout>(deadline - Clock::now());
      if (left <= 0ms) return std::nullopt;
      auto answer = client->receive(left);
      if (!answer) {
        spdlog::debug("{} to {}: no answer in time", net::kind_name(header.kind), short_key(hop.key));
        return std::nullopt;
      }
      auto envelope = net::unpack(answer->payload);
      if (!envelope || request_id(envelope->meta) != request) continue;  // stale
      release(hop, std::move(client));
      return Reply{std::move(answer->header), std::move(*envelope)};
    }
  } catch (const std::exception& error) {  // EINTR and the like: this request failed, the client goes
    spdlog::debug("request to {} failed: {}", short_key(hop.key), error.what());
    return std::nullopt;
  }
}

Reply PeerCalls::request(const Hop& hop, const net::MessageHeader& header, const net::Envelope& message,
                         net::Timeout timeout, net::MessageKind expected, Sent* sent) {
  auto reply = request(hop, header, message, timeout, sent);
  if (!reply) throw PeerFailure(hop.key, "peer " + short_key(hop.key) + " did not answer");
  if (hop.key == self_ && reply->header.kind != net::MessageKind::Error) return std::move(*reply);
  return expect(hop, std::move(*reply), expected);
}

bool PeerCalls::Links::Link::accept(std::uint64_t id, Reply reply) {
  if (!outstanding.count(id)) return false;  // stale, or never asked for: dropped
  early.insert_or_assign(id, std::move(reply));
  return true;
}

std::optional<Reply> PeerCalls::Links::Link::take(std::uint64_t id) {
  const auto found = early.find(id);
  if (found == early.end()) return std::nullopt;
  auto reply = std::move(found->second);
  early.erase(found);
  outstanding.erase(id);
  return reply;
}

void PeerCalls::Links::Link::forget(std::uint64_t id) {
  outstanding.erase(id);
  early.erase(id);
}

PeerCalls::Links::Link& PeerCalls::Links::open(const Hop& hop) {
  auto& link = links_[hop.key];
  if (!link.client) {
    link.hop = hop;
    link.outstanding.clear();
    link.early.clear();
    try {
      link.client = calls_.acquire(hop);
    } catch (const std::exception& error) {
      throw PeerFailure(hop.key, "cannot reach " + short_key(hop.key) + ": " + error.what());
    }
  }
  return link;
}

std::uint64_t PeerCalls::Links::post(Link& link, const net::MessageHeader& header, const net::Envelope& message,
                                     net::Timeout timeout, Sent& sent) {
  std::uint64_t request = 0;
  const auto payload = calls_.frame(message, request);
  sent.bytes = payload.size();
  try {
    if (link.client->send(header, payload, timeout, &sent.hash)) {
      link.outstanding.insert(request);
      return request;
    }
  } catch (const std::exception& error) {
    spdlog::debug("{} to {} failed: {}", net::kind_name(header.kind), short_key(link.hop.key), error.what());
  }
  throw PeerFailure(link.hop.key, "peer " + short_key(link.hop.key) + " did not take the request");
}

Reply PeerCalls::Links::await(Link& link, std::uint64_t request, Clock::time_point deadline, net::MessageKind expected) {
  if (auto reply = link.take(request)) return expect(link.hop, std::move(*reply), expected);
  try {
    while (true) {
      const auto left = std::chrono::duration_cast<net::Timeout>(deadline - Clock::now());
      if (left <= 0ms) break;
      auto message = link.client->receive(left);
      if (!message) break;
      auto envelope = net::unpack(message->payload);
      if (!envelope) continue;
      const auto id = request_id(envelope->meta);
      link.accept(id, Reply{std::move(message->header), std::move(*envelope)});
      if (auto reply = link.take(request)) return expect(link.hop, std::move(*reply), expected);
    }
  } catch (const PeerFailure&) {
    throw;
  } catch (const std::exception& error) {
    spdlog::debug("waiting on {} failed: {}", short_key(link.hop.key), error.what());
  }
  throw PeerFailure(link.hop.key, "peer " + short_key(link.hop.key) + " did not answer");
}

void PeerCalls::Links::collect(Link& link) {
  while (auto message = link.client->receive(0ms)) {
    auto envelope = net::unpack(message->payload);
    if (!envelope) continue;
    const auto id = request_id(envelope->meta);
    link.accept(id, Reply{std::move(message->header), std::move(*envelope)});
  }
}

void PeerCalls::Links::drop(Link& link) {
  link.client.reset();
  link.outstanding.clear();
  link.early.clear();
}

void PeerCalls::Links::release_all() {
  for (auto& [peer, link] : links_)
    if (link.client) calls_.release(link.hop, std::move(link.client));
}

}  // namespace tessera::node::swarm
