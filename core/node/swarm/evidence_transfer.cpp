// Spot-check evidence in 4 MiB chunks, one check's encoding cached on the worker.
#include "core/node/swarm/evidence_transfer.h"

#include <algorithm>

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/run_context.h"

namespace tessera::node::swarm {

Out EvidenceTransfer::serve(const net::Incoming&, const net::Envelope& envelope) {
  const auto request = net::CheckFetchRequest::decode(envelope);
  const auto ticket = protocol::SignedCheckTicket::from_hex(request.ticket);  // admitted: the hub's, for us
  if (!ticket) throw std::invalid_argument("malformed check ticket");
  const auto& t = ticket->ticket;
  const int k = local_.index;
  if (t.stage != k)
    throw std::invalid_argument("the check is of stage " + std::to_string(t.stage) + "; this node serves stage " +
                                std::to_string(k));
  if (bytes_.empty() || ticket_ != request.ticket) {
    if (request.offset != 0) throw std::invalid_argument("evidence transfer expired: start again");
    const auto evidence = local_.evidence.find(t.step, t.micro_batch, t.stage);
    if (!evidence)
      throw std::invalid_argument("this node no longer holds the evidence for step " + std::to_string(t.step) +
                                  ", micro-batch " + std::to_string(t.micro_batch));
    bytes_ = evidence->encode();
    ticket_ = request.ticket;
  }
  if (request.offset > bytes_.size()) throw std::invalid_argument("evidence offset past the end");
  const auto length = std::min<std::size_t>(kChunk, bytes_.size() - request.offset);
  net::CheckChunk chunk{request.offset, bytes_.size(), {}};
  chunk.bytes.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(request.offset),
                     bytes_.begin() + static_cast<std::ptrdiff_t>(request.offset + length));
  return {run_.header(net::MessageKind::CheckChunk, t.step, t.micro_batch, k), chunk.encode()};
}

std::vector<std::uint8_t> download_evidence(const RunContext& run, PeerCalls& calls, const Hop& worker,
                                     const protocol::CheckTicket& ticket, const std::string& ticket_hex) {
  std::vector<std::uint8_t> bytes;
  std::uint64_t total = 1;
  while (bytes.size() < total) {
    auto reply = calls.request(worker, run.header(net::MessageKind::CheckFetch, ticket.step, ticket.micro_batch, ticket.stage),
                               net::CheckFetchRequest{ticket_hex, bytes.size()}.encode(), run.options.hop_timeout,
                               net::MessageKind::CheckChunk);
    const auto chunk = net::CheckChunk::decode(reply.envelope);
    total = chunk.total;
    if (chunk.offset != bytes.size() || total > net::kMaxEvidenceBytes)
      throw PeerFailure(worker.key, "evidence chunk out of order");
    if (chunk.bytes.empty() && bytes.size() < total) throw PeerFailure(worker.key, "empty evidence chunk");
    bytes.insert(bytes.end(), chunk.bytes.begin(), chunk.bytes.end());
  }
  return bytes;
}

}  // namespace tessera::node::swarm
