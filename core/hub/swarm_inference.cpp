// Inference requests over the nodes' CurveZMQ servers (MessageKind::Infer), routed through one
// replica per stage, rotating among replicas so no single one carries all requests. Each request
// carries an inference ticket the hub key authenticates for every node of its route
// (core/protocol/inference_ticket.h), bound to its tokens and route and good for one use until its
// deadline: no node serves Infer without one.
#include "core/hub/swarm_inference.h"

#include <atomic>
#include <map>
#include <mutex>

#include <sodium.h>
#include <zmq.hpp>

#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"
#include "core/protocol/inference_ticket.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {

struct SwarmInference::Impl {
  Impl(const PeerDirectory& peers, protocol::RunManifest run, const wallet::KeyPair& key)
      : directory(peers), manifest(std::move(run)), identity(net::curve_keys_from(key)) {}
  const PeerDirectory& directory;
  protocol::RunManifest manifest;
  net::CurveKeyPair identity;  // the hub key's X25519 form: the connections, and the tickets' keys
  zmq::context_t context{1};
  std::mutex mutex;  // one request at a time per instance (the client socket is not thread-safe)
  std::uint64_t turn = 0;
  // One connection per stage-0 replica, kept across tokens (a CurveZMQ handshake per token costs
  // more than the forward pass); dropped when it fails, so no late reply can answer a later request.
  std::map<std::string, std::unique_ptr<net::Client>> clients;
  // The ticket key shared with each node served (one X25519 exchange per node, not per token).
  std::map<wallet::PublicKey, wallet::SecureBytes> ticket_keys;

  const wallet::SecureBytes& ticket_key(const wallet::PublicKey& node) {
    if (const auto found = ticket_keys.find(node); found != ticket_keys.end()) return found->second;
    if (ticket_keys.size() >= 4096) ticket_keys.clear();  // nodes come and go: start over
    auto key = protocol::hub_ticket_key(identity.public_key, identity.secret_key, net::curve_public_from(node));
    return ticket_keys.emplace(node, std::move(key)).first->second;
  }

  // The hub's ticket for this request: its tokens and route, one use, until the caller's deadline.
  std::string ticket(const net::InferRequest& request, const std::vector<Peer>& route, std::chrono::milliseconds timeout) {
    protocol::InferenceTicket ticket;
    ticket.run_id = manifest.run_id;
    randombytes_buf(ticket.nonce.data(), ticket.nonce.size());
    ticket.issued_ms = protocol::unix_now_ms();
    ticket.expires_ms = ticket.issued_ms + std::min<std::int64_t>(timeout.count(), protocol::kMaxInferenceTicketLifetimeMs);
    ticket.batch = static_cast<std::uint32_t>(request.input.batch);
    ticket.sequence = static_cast<std::uint32_t>(request.input.sequence);
    ticket.tokens_hash = protocol::inference_tokens_hash(request.input.tokens);
    std::vector<const wallet::SecureBytes*> keys;
    for (const auto& peer : route) {
      ticket.route.push_back(peer.node_key);
      keys.push_back(&ticket_key(peer.node_key));
    }
    return protocol::authenticate_inference_ticket(ticket, keys).to_hex();
  }
};

SwarmInference::SwarmInference(const PeerDirectory& directory, protocol::RunManifest manifest,
                               const wallet::KeyPair& hub_key)
    : impl_(std::make_unique<Impl>(directory, std::move(manifest), hub_key)) {}

SwarmInference::~SwarmInference() = default;

std::vector<float> SwarmInference::next_token_logits(const std::vector<std::int32_t>& tokens,
                                                     std::chrono::milliseconds timeout) {
  auto& s = *impl_;
  if (tokens.empty()) throw std::invalid_argument("the prompt has no tokens");
  for (const auto token : tokens)
    if (token < 0 || token >= s.manifest.model.vocab)
      throw std::invalid_argument("token id " + std::to_string(token) + " is outside the vocabulary");
  std::lock_guard lock(s.mutex);
  const auto turn = s.turn++;
  std::vector<Peer> route;
  for (int stage = 0; stage < s.manifest.stages; ++stage) {
    const auto replicas = s.directory.replicas(stage);
    if (replicas.empty()) throw SwarmUnavailable("stage " + std::to_string(stage) + " has no live replica");
    route.push_back(replicas[turn % replicas.size()]);
  }
  const auto context = static_cast<std::size_t>(s.manifest.model.context);
  std::vector<std::int32_t> window(tokens.end() - static_cast<std::ptrdiff_t>(std::min(context, tokens.size())), tokens.end());
  const auto sequence = window.size();
  window.push_back(0);  // the [batch, T + 1] layout's target column, unused by inference
  net::InferRequest request;
  request.input.batch = 1;
  request.input.sequence = static_cast<int>(sequence);
  for (std::size_t i = 1; i < route.size(); ++i) request.input.route.push_back({route[i].node_key, route[i].endpoint});
  request.input.tokens = std::move(window);
  request.ticket = s.ticket(request, route, timeout);
  auto message = request.encode();
  message.meta["request"] = turn + 1;
  net::MessageHeader header;
  header.kind = net::MessageKind::Infer;
  header.run_id = s.manifest.run_id;
  header.stage = 0;
  const auto client_key = wallet::to_hex(route.front().node_key) + "@" + route.front().endpoint;
  auto& client = s.clients[client_key];
  if (!client)
    client = std::make_unique<net::Client>(s.context, s.identity, net::curve_public_from(route.front().node_key),
                                           route.front().endpoint);
  const auto reply = client->request(header, net::pack(message.meta, message.blob), timeout);
  if (!reply) {
    s.clients.erase(client_key);
    throw SwarmUnavailable("the stage-0 replica did not answer within " + std::to_string(timeout.count()) + " ms");
  }
  const auto envelope = net::unpack(reply->payload);
  if (!envelope) throw SwarmUnavailable("the swarm's answer is malformed");
  if (reply->header.kind == net::MessageKind::Error)
    throw SwarmUnavailable("the swarm could not answer: " + net::ErrorReply::decode(*envelope).message);
  auto logits = net::bytes_to_floats(envelope->blob);
  if (reply->header.kind != net::MessageKind::Logits || !logits ||
      logits->size() != static_cast<std::size_t>(s.manifest.model.vocab))
    throw SwarmUnavailable("the swarm's answer is not a row of logits");
  return std::move(*logits);
}

}  // namespace tessera::hub
