// Inference requests over the nodes' CurveZMQ servers (MessageKind::Infer), routed through one
// replica per stage, rotating among replicas so no single one carries all requests. Each request
// carries an inference ticket the hub key authenticates for every node of its route
// (core/protocol/inference_ticket.h), bound to its tokens and route and good for one use until its
// deadline: no node serves Infer without one. The gateway's rounds go as batched Infers (one per
// route) on the stages' KV-cache sessions: each sequence keeps its route while it is generated and
// sends only its new positions; a sequence a stage lost (a restart, eviction) is sent again whole.
#include "core/hub/swarm_inference.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <map>
#include <mutex>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "core/model/model_config.h"
#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"
#include "core/protocol/inference_ticket.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

constexpr std::size_t kHeldSequences = 4096;
constexpr auto kCreditEvery = std::chrono::seconds(2);

std::string route_key(const std::vector<Peer>& route) {
  std::string key;
  for (const auto& peer : route) key += wallet::to_hex(peer.node_key) + "@" + peer.endpoint + ";";
  return key;
}

// One sequence's part of a batched Infer.
struct Part {
  std::size_t index = 0;  // in the round
  net::InferSequence sequence;
  std::vector<std::int32_t> tokens;  // its new positions
};

struct Group {
  std::vector<Peer> route;
  std::vector<Part> parts;
};

// Part of a round sent whole again: from position 0.
Part from_start(Part part, const std::vector<std::int32_t>& window) {
  part.sequence.start = 0;
  part.sequence.length = static_cast<std::uint32_t>(window.size());
  part.tokens = window;
  return part;
}

}  // namespace

struct SwarmInference::Impl {
  Impl(const PeerDirectory& peers, protocol::RunManifest run, const wallet::KeyPair& key)
      : directory(peers), manifest(std::move(run)), identity(net::curve_keys_from(key)) {
    for (int stage = 0; stage < manifest.stages; ++stage)
      flops_per_token.push_back(model::stage_training_flops_per_token(
                                    manifest.model, model::plan_stage(manifest.model, manifest.stages, stage)) /
                                3.0);  // training is forward + backward (twice forward)
  }
  const PeerDirectory& directory;
  protocol::RunManifest manifest;
  net::CurveKeyPair identity;  // the hub key's X25519 form: the connections, and the tickets' keys
  zmq::context_t context{1};
  std::mutex mutex;  // one request at a time per instance (the client socket is not thread-safe)
  std::uint64_t turn = 0;
  std::uint64_t used = 0;  // a clock for the held sequences' last use
  // What each generated sequence's KV caches hold and on which route.
  struct Held {
    std::vector<Peer> route;
    std::vector<std::int32_t> tokens;
    std::uint64_t used = 0;
  };
  std::map<std::uint64_t, Held> held;
  // Inference work not yet credited: owner → forward FLOPs; credited every few seconds.
  std::map<std::string, double> unpaid;
  Clock::time_point last_credit = Clock::now();
  WorkCredit credit;
  std::vector<double> flops_per_token;  // forward FLOPs per position, per stage
  // Counted without the mutex, which a round holds for as long as the swarm takes.
  std::atomic<std::uint64_t> infers{0}, positions_sent{0}, resent{0}, failed{0};
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
    ticket.tokens_hash = protocol::inference_tokens_hash(request.input.tokens, request.layout_bytes());
    std::vector<const wallet::SecureBytes*> keys;
    for (const auto& peer : route) {
      ticket.route.push_back(peer.node_key);
      keys.push_back(&ticket_key(peer.node_key));
    }
    return protocol::authenticate_inference_ticket(ticket, keys).to_hex();
  }

  // Throws std::invalid_argument for an empty sequence, one longer than the context or ids
  // outside the vocabulary.
  void check(const std::vector<std::int32_t>& tokens) const {
    if (tokens.empty()) throw std::invalid_argument("the prompt has no tokens");
    if (tokens.size() > static_cast<std::size_t>(manifest.model.context))
      throw std::invalid_argument("the sequence is longer than the context");
    for (const auto token : tokens)
      if (token < 0 || token >= manifest.model.vocab)
        throw std::invalid_argument("token id " + std::to_string(token) + " is outside the vocabulary");
  }

  // The connection to `peer` (a stage-0 replica), kept across requests.
  net::Client& client_for(const Peer& peer) {
    auto& client = clients[wallet::to_hex(peer.node_key) + "@" + peer.endpoint];
    if (!client)
      client = std::make_unique<net::Client>(context, identity, net::curve_public_from(peer.node_key), peer.endpoint);
    return *client;
  }

  // Sends `request` to the route's stage 0 and returns the Logits envelope; throws SwarmUnavailable.
  net::Envelope send(const std::vector<Peer>& route, net::InferRequest request, std::chrono::milliseconds timeout) {
    for (std::size_t i = 1; i < route.size(); ++i) request.input.route.push_back({route[i].node_key, route[i].endpoint});
    request.ticket = ticket(request, route, timeout);
    auto message = request.encode();
    message.meta["request"] = ++turn;
    net::MessageHeader header;
    header.kind = net::MessageKind::Infer;
    header.run_id = manifest.run_id;
    header.stage = 0;
    const auto reply = client_for(route.front()).request(header, net::pack(message.meta, message.blob), timeout);
    if (!reply) {
      clients.erase(wallet::to_hex(route.front().node_key) + "@" + route.front().endpoint);
      throw SwarmUnavailable("the stage-0 replica did not answer within " + std::to_string(timeout.count()) + " ms");
    }
    auto envelope = net::unpack(reply->payload);
    if (!envelope) throw SwarmUnavailable("the swarm's answer is malformed");
    if (reply->header.kind == net::MessageKind::Error)
      throw SwarmUnavailable("the swarm could not answer: " + net::ErrorReply::decode(*envelope).message);
    if (reply->header.kind != net::MessageKind::Logits) throw SwarmUnavailable("the swarm's answer is not logits");
    return std::move(*envelope);
  }

  // The live replicas of every stage now.
  std::vector<std::vector<Peer>> live() const {
    std::vector<std::vector<Peer>> out;
    for (int stage = 0; stage < manifest.stages; ++stage) out.push_back(directory.replicas(stage));
    return out;
  }

  static bool listed(const Peer& peer, const std::vector<Peer>& replicas) {
    return std::any_of(replicas.begin(), replicas.end(), [&](const Peer& p) {
      return p.node_key == peer.node_key && p.endpoint == peer.endpoint;
    });
  }

  // Where `window` goes this round: on the route that holds its start, with only its new
  // positions, or on a new route (rotating among the replicas) from position 0. Throws
  // SwarmUnavailable when a stage has no live replica.
  std::pair<std::vector<Peer>, Part> plan(std::size_t index, const SequenceWindow& window,
                                          const std::vector<std::vector<Peer>>& replicas) {
    Part part{index, {window.session, 0, 0, 0}, {}};
    const auto found = held.find(window.session);
    if (found != held.end()) {
      const auto& h = found->second;
      bool alive = h.route.size() == replicas.size();
      for (std::size_t k = 0; alive && k < h.route.size(); ++k) alive = listed(h.route[k], replicas[k]);
      const bool extends = h.tokens.size() < window.tokens.size() &&
                           std::equal(h.tokens.begin(), h.tokens.end(), window.tokens.begin());
      if (alive && extends) {
        part.sequence.start = static_cast<std::uint32_t>(h.tokens.size());
        part.tokens.assign(window.tokens.begin() + static_cast<std::ptrdiff_t>(h.tokens.size()), window.tokens.end());
        part.sequence.length = static_cast<std::uint32_t>(part.tokens.size());
        return {h.route, std::move(part)};
      }
    }
    const auto pick = turn++;
    std::vector<Peer> route;
    for (std::size_t stage = 0; stage < replicas.size(); ++stage) {
      if (replicas[stage].empty()) throw SwarmUnavailable("stage " + std::to_string(stage) + " has no live replica");
      route.push_back(replicas[stage][pick % replicas[stage].size()]);
    }
    return {std::move(route), from_start(std::move(part), window.tokens)};
  }

  // One batched Infer for the parts on one route; the indices of the parts some stage no longer held.
  std::vector<std::size_t> run(const Group& group, const std::vector<SequenceWindow>& round,
                               std::vector<NextLogits>& out, std::chrono::milliseconds timeout) {
    net::InferRequest request;
    request.input.batch = 1;
    for (const auto& part : group.parts) {
      request.sequences.push_back(part.sequence);
      request.input.tokens.insert(request.input.tokens.end(), part.tokens.begin(), part.tokens.end());
    }
    request.input.sequence = static_cast<int>(request.input.tokens.size());
    request.input.tokens.push_back(0);  // the [batch, T + 1] layout's target column, unused by inference
    infers += 1;
    positions_sent += static_cast<std::uint64_t>(request.input.sequence);
    const auto reply = net::LogitsReply::decode(send(group.route, std::move(request), timeout));
    const std::set<std::uint32_t> missing(reply.missing.begin(), reply.missing.end());
    const auto vocab = static_cast<std::size_t>(manifest.model.vocab);
    const auto answered = group.parts.size() - missing.size();
    if (missing.size() != reply.missing.size() || (!missing.empty() && *missing.rbegin() >= group.parts.size()) ||
        reply.logits.size() != answered * vocab * sizeof(float))
      throw SwarmUnavailable("the swarm's answer does not match the request");
    const auto logits = net::bytes_to_floats(reply.logits);
    std::vector<std::size_t> lost;
    std::size_t next = 0, positions = 0;
    for (std::size_t j = 0; j < group.parts.size(); ++j) {
      const auto& part = group.parts[j];
      if (missing.contains(static_cast<std::uint32_t>(j))) {
        lost.push_back(j);
        continue;
      }
      out[part.index].logits.assign(logits->begin() + static_cast<std::ptrdiff_t>(next * vocab),
                                    logits->begin() + static_cast<std::ptrdiff_t>((next + 1) * vocab));
      ++next;
      positions += part.tokens.size();
      hold(part.sequence.session, group.route, round[part.index].tokens);
    }
    owe(group.route, positions);
    return lost;
  }

  void hold(std::uint64_t session, const std::vector<Peer>& route, const std::vector<std::int32_t>& tokens) {
    if (!held.contains(session) && held.size() >= kHeldSequences) {
      const auto oldest = std::min_element(held.begin(), held.end(),
                                           [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      held.erase(oldest);
    }
    held[session] = {route, tokens, ++used};
  }

  // Every node on the route computed `positions` positions forward: credit owed to its owner.
  void owe(const std::vector<Peer>& route, std::size_t positions) {
    for (std::size_t k = 0; k < route.size() && k < flops_per_token.size(); ++k)
      unpaid[route[k].owner] += flops_per_token[k] * static_cast<double>(positions);
  }

  void pay(bool now) {
    if (unpaid.empty() || (!now && Clock::now() - last_credit < kCreditEvery)) return;
    last_credit = Clock::now();
    auto owed = std::move(unpaid);
    unpaid.clear();
    if (!credit) return;
    for (const auto& [owner, flops] : owed) {
      try {
        credit(owner, flops);
      } catch (const std::exception& error) {
        spdlog::error("inference: {:.0f} FLOPs of inference work for {} could not be credited: {}", flops, owner, error.what());
      }
    }
  }

  // A group, then once more from position 0 for what a stage lost; a failure fails the group's parts.
  void answer(Group group, const std::vector<SequenceWindow>& round, std::vector<NextLogits>& out,
              std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;  // the send again shares it
    try {
      const auto lost = run(group, round, out, timeout);
      if (lost.empty()) return;
      resent += lost.size();
      Group again{group.route, {}};
      for (const auto j : lost) again.parts.push_back(from_start(group.parts[j], round[group.parts[j].index].tokens));
      const auto left = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                    deadline - Clock::now()));
      if (!run(again, round, out, left).empty()) throw SwarmUnavailable("a stage lost the sequence's cache twice in a row");
    } catch (const std::exception& error) {
      for (const auto& part : group.parts) {
        held.erase(part.sequence.session);  // its next token starts over on a live route
        if (out[part.index].logits.empty()) {
          out[part.index].error = error.what();
          failed += 1;
        }
      }
    }
  }
};

SwarmInference::SwarmInference(const PeerDirectory& directory, protocol::RunManifest manifest,
                               const wallet::KeyPair& hub_key)
    : impl_(std::make_unique<Impl>(directory, std::move(manifest), hub_key)) {}

SwarmInference::~SwarmInference() {
  std::lock_guard lock(impl_->mutex);
  impl_->pay(true);
}

void SwarmInference::credit_work_to(WorkCredit credit) {
  std::lock_guard lock(impl_->mutex);
  impl_->credit = std::move(credit);
}

SwarmInference::Stats SwarmInference::stats() const {
  const auto& s = *impl_;
  return {s.infers.load(), s.positions_sent.load(), s.resent.load(), s.failed.load()};
}

void SwarmInference::end_sequence(std::uint64_t session) {
  std::lock_guard lock(impl_->mutex);
  impl_->held.erase(session);
}

std::vector<NextLogits> SwarmInference::next_logits(const std::vector<SequenceWindow>& round,
                                                    std::chrono::milliseconds timeout) {
  auto& s = *impl_;
  std::lock_guard lock(s.mutex);
  std::vector<NextLogits> out(round.size());
  const auto replicas = s.live();
  std::map<std::string, Group> groups;
  for (std::size_t i = 0; i < round.size(); ++i) {
    try {
      s.check(round[i].tokens);
      auto [route, part] = s.plan(i, round[i], replicas);
      auto& group = groups[route_key(route)];
      group.route = std::move(route);
      group.parts.push_back(std::move(part));
    } catch (const std::exception& error) {
      out[i].error = error.what();
    }
  }
  // One deadline for the whole round: each route gets what is left of it, so routes that do not
  // answer cannot hold the round (and every completion in it) for a timeout each.
  const auto deadline = Clock::now() + timeout;
  for (auto& [key, group] : groups) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() > 0) {
      s.answer(std::move(group), round, out, left);
      continue;
    }
    for (const auto& part : group.parts) {
      out[part.index].error = "the round ran out of its " + std::to_string(timeout.count()) + " ms";
      s.held.erase(part.sequence.session);
      s.failed += 1;
    }
  }
  s.pay(false);
  return out;
}

std::vector<float> SwarmInference::next_token_logits(const std::vector<std::int32_t>& tokens,
                                                     std::chrono::milliseconds timeout) {
  auto& s = *impl_;
  const auto context = static_cast<std::size_t>(s.manifest.model.context);
  std::vector<std::int32_t> window(tokens.end() - static_cast<std::ptrdiff_t>(std::min(context, tokens.size())), tokens.end());
  std::lock_guard lock(s.mutex);
  s.check(window);
  const auto replicas = s.live();
  const auto pick = s.turn++;
  std::vector<Peer> route;
  for (std::size_t stage = 0; stage < replicas.size(); ++stage) {
    if (replicas[stage].empty()) throw SwarmUnavailable("stage " + std::to_string(stage) + " has no live replica");
    route.push_back(replicas[stage][pick % replicas[stage].size()]);
  }
  net::InferRequest request;
  request.input.batch = 1;
  request.input.sequence = static_cast<int>(window.size());
  request.input.tokens = std::move(window);
  request.input.tokens.push_back(0);  // the [batch, T + 1] layout's target column, unused by inference
  auto logits = net::bytes_to_floats(s.send(route, std::move(request), timeout).blob);
  if (!logits || logits->size() != static_cast<std::size_t>(s.manifest.model.vocab))
    throw SwarmUnavailable("the swarm's answer is not a row of logits");
  return std::move(*logits);
}

}  // namespace tessera::hub
