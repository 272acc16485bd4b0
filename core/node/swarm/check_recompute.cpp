// Evidence against the ticket, then one forward and backward on a scratch stage.
#include "core/node/swarm/check_recompute.h"

#include <stdexcept>

#include "core/model/codec.h"
#include "core/node/swarm/slot_digests.h"

namespace tessera::node::swarm {

protocol::CheckReport failed_check(std::uint64_t check_id, protocol::CheckStatus status, std::string reason) {
  if (reason.size() > 500) reason.resize(500);
  protocol::CheckReport report;
  report.check_id = check_id;
  report.status = status;
  report.reason = std::move(reason);
  return report;
}

std::optional<std::string> evidence_mismatch(const protocol::CheckTicket& ticket, const net::CheckEvidence& evidence) {
  if (evidence.step != ticket.step || evidence.micro_batch != ticket.micro_batch || evidence.stage != ticket.stage)
    return "the evidence is for another slot";
  if (protocol::weights_digest(evidence.parameters) != ticket.weights)
    return "the parameters are not the weights the worker reported for the step";
  if (protocol::tokens_digest(evidence.tokens) != ticket.tokens) return "the token ids are not the step record's";
  if (ticket.forward_in && (!evidence.forward || forward_digest_of(*evidence.forward, evidence.tokens) != *ticket.forward_in))
    return "the Forward is not the one the worker signed for";
  if (ticket.backward_in && (!evidence.backward || backward_digest_of(*evidence.backward) != *ticket.backward_in))
    return "the gradient is not the one the worker signed for";
  return std::nullopt;
}

engine::Stage& CheckRecompute::scratch(int index) {
  if (!stage_ || stage_index_ != index) {
    stage_.reset();
    engine::StageOptions options;
    options.model = manifest_.model;
    options.train = manifest_.train;
    options.stage_count = manifest_.stages;
    options.stage_index = index;
    options.codec = model::parse_codec(manifest_.codec);
    options.device = "cpu";
    options.threads = 0;  // the process's setting: a scratch stage must not change the node's own
    stage_ = std::make_unique<engine::Stage>(options);
    stage_index_ = index;
  }
  return *stage_;
}

protocol::CheckReport CheckRecompute::recompute(const protocol::CheckTicket& ticket, const net::CheckEvidence& evidence) {
  const int index = ticket.stage;
  const bool last = index == manifest_.stages - 1;
  if (!last && !evidence.backward)
    return failed_check(ticket.check_id, protocol::CheckStatus::EvidenceMismatch, "the evidence holds no gradient");
  auto& stage = scratch(index);
  stage.discard_step();
  engine::ForwardMessage input;
  input.micro_batch = ticket.micro_batch;
  input.batch = evidence.batch;
  input.sequence = evidence.sequence;
  input.tokens = evidence.tokens;
  if (evidence.forward) input.activations = *evidence.forward;
  protocol::CheckReport report;
  report.check_id = ticket.check_id;
  report.status = protocol::CheckStatus::Computed;
  try {
    stage.set_parameter_vector(evidence.parameters);
    auto forward = stage.forward(input);
    if (!last) report.forward_out = forward_digest_of(forward.output.activations, evidence.tokens);
    const auto back = stage.backward(ticket.micro_batch, last ? model::Payload{} : *evidence.backward);
    if (index > 0) report.backward_out = backward_digest_of(back.grad_input);
  } catch (const std::invalid_argument& bad) {  // evidence the stage refuses (shape, codec, values)
    stage.discard_step();
    return failed_check(ticket.check_id, protocol::CheckStatus::EvidenceMismatch,
                        std::string("the stage refuses the evidence: ") + bad.what());
  }
  stage.discard_step();
  return report;
}

protocol::CheckReport CheckRecompute::check(const protocol::CheckTicket& ticket, const net::CheckEvidence& evidence) {
  if (ticket.stage >= manifest_.stages)
    return failed_check(ticket.check_id, protocol::CheckStatus::Unavailable, "the ticket names a stage the run lacks");
  if (const auto why = evidence_mismatch(ticket, evidence))
    return failed_check(ticket.check_id, protocol::CheckStatus::EvidenceMismatch, *why);
  if (manifest_.model.dropout > 0)
    return failed_check(ticket.check_id, protocol::CheckStatus::Unavailable,
                        "the run trains with dropout > 0, which a recompute cannot reproduce bit for bit");
  return recompute(ticket, evidence);
}

}  // namespace tessera::node::swarm
