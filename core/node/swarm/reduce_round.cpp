// The driver's reduce and shared-gradient phases.
#include "core/node/swarm/reduce_round.h"

#include <algorithm>
#include <future>
#include <variant>

#include <spdlog/spdlog.h>

#include "core/node/swarm/run_context.h"

namespace tessera::node::swarm {
namespace {

bool contains(const std::vector<net::Hop>& hops, const wallet::PublicKey& key) {
  return std::any_of(hops.begin(), hops.end(), [&](const net::Hop& h) { return h.key == key; });
}

}  // namespace

ReduceRound::ReduceRound(const RunContext& run, PeerCalls& calls, StepAttempt& attempt, std::int64_t shared_size,
                         Suspect suspect, IsSuspected suspected)
    : run_(run), calls_(calls), attempt_(attempt), shared_size_(shared_size), suspect_(std::move(suspect)),
      suspected_(std::move(suspected)), shared_sources_(static_cast<std::size_t>(run.manifest.stages)) {
  const auto& averaging = run.manifest.averaging;
  if (shared_size > 0 && averaging.scheme == model::AveragingConfig::Scheme::powersgd)
    shared_layout_ = model::shared_embedding_layout(run.manifest.model, averaging.rank);
}

std::size_t ReduceRound::shared_part_size() const {
  return static_cast<std::size_t>(shared_layout_ ? shared_layout_->p_size() + shared_layout_->raw_size() : shared_size_);
}

std::vector<net::Hop> ReduceRound::targets_of(int stage, const std::vector<protocol::PeerInfo>& ready_now) const {
  const auto& r = attempt_.replicas[static_cast<std::size_t>(stage)];
  std::vector<net::Hop> targets = r;
  for (const auto& peer : ready_now)  // replicas that became ready during the step
    if (peer.ready() && peer.stage == stage && !suspected_(peer.node_key) && !contains(r, peer.node_key))
      targets.push_back({peer.node_key, peer.endpoint});
  return targets;
}

ReduceRound::StageResult ReduceRound::reduce_stage(int stage, const std::vector<net::Hop>& contributors,
                                                   const std::vector<net::Hop>& targets) {
  StageResult result;
  bool have_norm = false;
  for (const auto& hop : targets) {
    const bool contributor = contains(contributors, hop.key);
    const bool source = !have_norm && contributor;  // targets[0]: the first contributor
    net::ReduceRequest request{attempt_.id, contributors, source && shared_size_ > 0, {}};
    request.installers = static_cast<std::uint32_t>(targets.size());
    if (const auto found = attempt_.receipts_for.find(hop.key); found != attempt_.receipts_for.end())
      request.receipts = found->second;
    try {
      auto reply = calls_.request(hop, run_.header(net::MessageKind::Reduce, attempt_.step, 0, stage), request.encode(),
                                  run_.options.hop_timeout * 2, net::MessageKind::GradNorm);
      if (source) {
        const auto answer = net::GradNormReply::decode(reply.envelope);
        result.norm = answer.norm_squared;
        have_norm = true;
        if (shared_size_ > 0) {
          result.shared = shared_layout_ ? model::power_sgd::from_bf16_bytes(answer.shared) : net::bytes_to_floats(answer.shared);
          if (!result.shared || result.shared->size() != shared_part_size())
            throw PeerFailure(hop.key, "shared embedding gradient from " + short_key(hop.key) + " has the wrong size");
          result.shared_remote = hop.key != run_.self();
          result.shared_source = hop;
        }
      }
      result.committers.push_back(hop);
    } catch (const PeerFailure&) {
      if (contributor) throw;  // a newcomer that is not in sync simply stays out
    } catch (const std::exception& error) {  // a malformed answer (a norm that is not a number…)
      if (contributor) throw PeerFailure(hop.key, "peer " + short_key(hop.key) + " answered Reduce wrongly: " + error.what());
    }
  }
  return result;
}

void ReduceRound::reduce(const std::vector<protocol::PeerInfo>& ready_now) {
  const int count = run_.manifest.stages;
  const auto micro_batches = static_cast<std::size_t>(run_.manifest.train.micro_batches);
  attempt_.norms.assign(static_cast<std::size_t>(count), 0.0);
  std::vector<std::future<StageResult>> reductions;
  for (int k = 0; k < count; ++k) {
    const auto& r = attempt_.replicas[static_cast<std::size_t>(k)];
    std::vector<net::Hop> contributors(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(std::min(r.size(), micro_batches)));
    reductions.push_back(std::async(std::launch::async, [this, k, contributors, targets = targets_of(k, ready_now)] {
      return reduce_stage(k, contributors, targets);
    }));
  }
  std::optional<PeerFailure> failure;
  for (int k = 0; k < count; ++k) {
    StageResult result;
    try {
      result = reductions[static_cast<std::size_t>(k)].get();  // every task is waited for
    } catch (const PeerFailure& failed) {
      if (!failure) failure = failed;  // suspected where the attempt is abandoned
      else suspect_(failed);
      continue;
    }
    attempt_.norms[static_cast<std::size_t>(k)] = result.norm;
    if (result.shared) {
      if (result.shared_remote) {
        const std::size_t value_bytes = shared_layout_ ? 2 : sizeof(float);  // bfloat16 parts, or the float32 gradient
        attempt_.shared_bytes += static_cast<double>(result.shared->size() * value_bytes);
        run_.traffic.count_fp32_equivalent(static_cast<std::uint64_t>(shared_size_) * 4);
      }
      if (shared_sum_.empty()) shared_sum_ = std::move(*result.shared);
      else
        for (std::size_t i = 0; i < shared_sum_.size(); ++i) shared_sum_[i] += (*result.shared)[i];
      shared_sources_[static_cast<std::size_t>(k)] = result.shared_source;
    }
    for (auto& hop : result.committers) {
      attempt_.committers.push_back(std::move(hop));
      attempt_.committer_stages.push_back(k);
    }
  }
  if (failure) throw *failure;
}

void ReduceRound::share_embeddings() {
  if (shared_size_ <= 0) return;
  // Every committer installs the sum; the first replica of each stage answers the norm to clip by
  // (stage 0's now counts the summed shared part, the others' do not change).
  const auto& committers = attempt_.committers;
  const auto message = shared_layout_
                           ? net::SharedGradientRequest{attempt_.id, low_rank_shared_sum(), net::SharedPart::low_rank,
                                                        static_cast<std::size_t>(shared_layout_->p_size())}
                                 .encode()
                           : net::SharedGradientRequest{attempt_.id, shared_sum_}.encode();
  std::vector<std::future<std::variant<double, PeerFailure>>> answers;
  for (std::size_t i = 0; i < committers.size(); ++i)
    answers.push_back(std::async(std::launch::async, [&, i]() -> std::variant<double, PeerFailure> {
      try {
        auto reply = calls_.request(committers[i],
                                    run_.header(net::MessageKind::SharedGradient, attempt_.step, 0, attempt_.committer_stages[i]),
                                    message, run_.options.hop_timeout, net::MessageKind::GradNorm);
        return net::GradNormReply::decode(reply.envelope).norm_squared;
      } catch (const PeerFailure& failure) {
        return failure;
      } catch (const std::exception& error) {  // a norm that is not a number …
        return PeerFailure(committers[i].key, "peer " + short_key(committers[i].key) +
                                                  " answered SharedGradient wrongly: " + error.what());
      }
    }));
  std::vector<net::Hop> installed;
  std::vector<int> installed_stages;
  std::vector<bool> norm_taken(static_cast<std::size_t>(run_.manifest.stages), false);
  std::optional<PeerFailure> fatal;
  for (std::size_t i = 0; i < committers.size(); ++i) {
    const auto k = static_cast<std::size_t>(attempt_.committer_stages[i]);
    const bool source = !norm_taken[k];  // committers keep each stage's targets order
    norm_taken[k] = true;
    auto answer = answers[i].get();
    if (auto* failure = std::get_if<PeerFailure>(&answer)) {
      if (source && !fatal) fatal = *failure;  // the stage's norm is missing: abort the attempt
      else if (!source) suspect_(*failure);  // it will resync
      continue;
    }
    if (source) attempt_.norms[k] = std::get<double>(answer);
    if (committers[i].key != run_.self()) {
      attempt_.shared_bytes += static_cast<double>(message.blob.size());
      run_.traffic.count_fp32_equivalent(static_cast<std::uint64_t>(shared_size_) * 4);
    }
    installed.push_back(committers[i]);
    installed_stages.push_back(attempt_.committer_stages[i]);
  }
  if (fatal) throw *fatal;
  attempt_.committers = std::move(installed);
  attempt_.committer_stages = std::move(installed_stages);
  spdlog::debug("step {}: shared embedding gradients summed over {} stages ({} bytes on the wire)", attempt_.step,
                run_.manifest.stages, attempt_.shared_bytes);
}

// Each stage's source answers its second part for the basis of the summed first parts (all at
// once); a source that fails it fails the attempt, as a missing norm does.
std::vector<float> ReduceRound::low_rank_shared_sum() {
  const auto& layout = *shared_layout_;
  const auto basis = model::power_sgd::orthonormal_basis(layout, shared_sum_);
  const auto message = net::SharedGradientRequest{attempt_.id, basis, net::SharedPart::second}.encode();
  struct Part {
    std::vector<float> values;
    double bytes = 0;  // on the wire, both ways
  };
  std::vector<std::future<Part>> parts;
  for (std::size_t k = 0; k < shared_sources_.size(); ++k) {
    if (!shared_sources_[k]) throw std::logic_error("stage " + std::to_string(k) + " sent no shared embedding part");
    parts.push_back(std::async(std::launch::async, [&, k] {
      const auto& hop = *shared_sources_[k];
      try {
        auto reply = calls_.request(hop, run_.header(net::MessageKind::SharedGradient, attempt_.step, 0, static_cast<int>(k)),
                                    message, run_.options.hop_timeout, net::MessageKind::GradNorm);
        auto values = model::power_sgd::from_bf16_bytes(net::GradNormReply::decode(reply.envelope).shared);
        if (!values || values->size() != static_cast<std::size_t>(layout.q_size()))
          throw PeerFailure(hop.key, "shared embedding part from " + short_key(hop.key) + " has the wrong size");
        const double bytes = hop.key == run_.self() ? 0.0 : static_cast<double>(message.blob.size() + values->size() * sizeof(float));
        return Part{std::move(*values), bytes};
      } catch (const PeerFailure&) {
        throw;
      } catch (const std::exception& error) {  // a malformed answer
        throw PeerFailure(hop.key, "peer " + short_key(hop.key) + " answered SharedGradient wrongly: " + error.what());
      }
    }));
  }
  std::vector<float> q_sum;
  std::optional<PeerFailure> failure;
  for (auto& future : parts) {
    try {
      auto part = future.get();  // every task is waited for
      attempt_.shared_bytes += part.bytes;
      if (q_sum.empty()) q_sum = std::move(part.values);
      else model::power_sgd::add_into(q_sum, part.values);
    } catch (const PeerFailure& failed) {
      if (!failure) failure = failed;
    }
  }
  if (failure) throw *failure;
  std::vector<float> out = basis;
  out.insert(out.end(), q_sum.begin(), q_sum.end());
  out.insert(out.end(), shared_sum_.begin() + layout.p_size(), shared_sum_.end());
  return out;
}

}  // namespace tessera::node::swarm
