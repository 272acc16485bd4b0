// Inference on this node's stage: whole windows, or a batched decode step on KV-cache sessions.
#include "core/node/swarm/inference_work.h"

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"

namespace tessera::node::swarm {

Out InferenceWork::serve(const net::Incoming& in, const net::Envelope& envelope) {
  const auto& h = in.message.header;
  if (h.stage != local_.index) throw std::invalid_argument("this node serves stage " + std::to_string(local_.index));
  auto request = net::InferRequest::decode(envelope);
  forward_.check_route(request.input.route);
  if (request.sequences.empty()) return whole_windows(h, std::move(request));
  return sequences(h, std::move(request));
}

Out InferenceWork::whole_windows(const net::MessageHeader& h, net::InferRequest request) {
  const int k = local_.index;
  const auto route = request.input.route;
  const int batch = request.input.batch, sequence = request.input.sequence;
  const auto input = forward_.input_of(h, std::move(request.input), -1);
  Out out{run_.header(net::MessageKind::Logits, h.step, 0, k), {}};
  if (k == run_.manifest.stages - 1) {
    out.envelope.blob = net::floats_to_bytes(local_.stage->last_position_logits(input));
    return out;
  }
  auto result = local_.stage->evaluate(input);
  auto down = run_.header(net::MessageKind::Infer, h.step, 0, k + 1);
  for (auto d : result.output.activations.shape) down.shape.push_back(static_cast<std::uint64_t>(d));
  net::InferRequest next;
  next.input.batch = batch;
  next.input.sequence = sequence;
  next.input.route.assign(route.begin() + 1, route.end());
  next.input.activations = std::move(result.output.activations.bytes);
  next.input.tokens = input.tokens;
  next.ticket = std::move(request.ticket);  // admitted: the hub's, for this route and these tokens
  auto reply = calls_.request(route.front(), down, next.encode(), run_.options.hop_timeout * (run_.manifest.stages - 1 - k),
                              net::MessageKind::Logits);
  out.envelope.blob = std::move(reply.envelope.blob);
  return out;
}

Out InferenceWork::sequences(const net::MessageHeader& h, net::InferRequest request) {
  const int k = local_.index;
  if (k > 0 && h.codec != static_cast<std::uint8_t>(run_.codec)) throw std::invalid_argument("payload codec differs from the run's");
  std::vector<bool> missing(request.sequences.size(), false);
  const auto outcomes = decode(request, missing);
  Out out{run_.header(net::MessageKind::Logits, h.step, 0, k), {}};
  if (k == run_.manifest.stages - 1) {
    net::LogitsReply reply;
    std::size_t next = 0;
    for (std::size_t i = 0; i < missing.size(); ++i) {
      if (missing[i]) {
        reply.missing.push_back(static_cast<std::uint32_t>(i));
        continue;
      }
      const auto bytes = net::floats_to_bytes(outcomes[next++].logits);
      reply.logits.insert(reply.logits.end(), bytes.begin(), bytes.end());
    }
    out.envelope = reply.encode();
    return out;
  }
  const auto hop = request.input.route.front();
  auto down = run_.header(net::MessageKind::Infer, h.step, 0, k + 1);
  const auto next = onward(std::move(request), outcomes, missing);
  down.shape = {1, static_cast<std::uint64_t>(next.input.sequence), 0};
  auto reply = calls_.request(hop, down, next.encode(), run_.options.hop_timeout * (run_.manifest.stages - 1 - k),
                              net::MessageKind::Logits);
  out.envelope = std::move(reply.envelope);  // the last stage's answer, missing sequences included
  return out;
}

std::vector<engine::DecodeOutcome> InferenceWork::decode(const net::InferRequest& request, std::vector<bool>& missing) const {
  const int k = local_.index;
  const auto values = boundary_values();
  std::vector<engine::DecodeEntry> entries;
  std::size_t token = 0, byte = 0;
  for (std::size_t i = 0; i < request.sequences.size(); ++i) {
    const auto& s = request.sequences[i];
    const auto first = request.input.tokens.begin() + static_cast<std::ptrdiff_t>(token);
    const auto bytes = request.input.activations.begin() + static_cast<std::ptrdiff_t>(byte);
    token += s.length;
    byte += s.activation_bytes;
    if (k > 0 && s.activation_bytes == 0) {  // a stage before this one no longer held it
      missing[i] = true;
      continue;
    }
    if (k == 0 && s.activation_bytes != 0) throw std::invalid_argument("stage 0 takes token ids only");
    engine::DecodeEntry entry;
    entry.session = s.session;
    entry.start = static_cast<std::int32_t>(s.start);
    entry.tokens.assign(first, first + s.length);
    if (k > 0) {
      entry.activations.codec = run_.codec;
      entry.activations.shape = {1, static_cast<std::int64_t>(s.length), values};
      entry.activations.bytes.assign(bytes, bytes + static_cast<std::ptrdiff_t>(s.activation_bytes));
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) return {};
  auto outcomes = local_.stage->decode(entries);  // validates everything before it changes anything
  std::vector<engine::DecodeOutcome> computed;
  std::size_t next = 0;
  for (std::size_t i = 0; i < missing.size(); ++i) {
    if (missing[i]) continue;
    auto& outcome = outcomes[next++];
    if (outcome.missing) missing[i] = true;
    else computed.push_back(std::move(outcome));
  }
  return computed;
}

net::InferRequest InferenceWork::onward(net::InferRequest request, const std::vector<engine::DecodeOutcome>& outcomes,
                                        const std::vector<bool>& missing) const {
  net::InferRequest next;
  next.ticket = std::move(request.ticket);  // admitted: the hub's, for this route and these tokens
  next.input.batch = 1;
  next.input.sequence = request.input.sequence;
  next.input.route.assign(request.input.route.begin() + 1, request.input.route.end());
  next.input.tokens = std::move(request.input.tokens);
  std::size_t computed = 0;
  for (std::size_t i = 0; i < request.sequences.size(); ++i) {
    auto s = request.sequences[i];
    s.activation_bytes = 0;
    if (!missing[i]) {
      const auto& bytes = outcomes[computed++].activations.bytes;
      s.activation_bytes = bytes.size();
      next.input.activations.insert(next.input.activations.end(), bytes.begin(), bytes.end());
    }
    next.sequences.push_back(s);
  }
  return next;
}

std::int64_t InferenceWork::boundary_values() const {
  const auto& model = run_.manifest.model;
  return model.subspace_rank > 0 ? model.subspace_rank : model.width;
}

}  // namespace tessera::node::swarm
