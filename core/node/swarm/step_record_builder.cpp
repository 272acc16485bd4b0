// A committed attempt as the driver's step record.
#include "core/node/swarm/step_record_builder.h"

#include "core/node/swarm/run_context.h"
#include "core/node/swarm/step_attempt.h"

namespace tessera::node::swarm {

protocol::StepRecord build_step_record(const RunContext& run, const StepAttempt& attempt) {
  protocol::StepRecord record;
  record.run_id = run.manifest.run_id;
  record.step = attempt.step;
  record.attempt = attempt.id;
  record.driver = run.self();
  record.micro_batches = static_cast<std::uint32_t>(run.manifest.train.micro_batches);
  record.tokens_per_micro_batch = run.tokens_per_micro_batch();
  record.route_seed = attempt.route_seed;
  for (const auto& stage : attempt.replicas) {
    auto& keys = record.replicas.emplace_back();
    for (const auto& hop : stage) keys.push_back(hop.key);
  }
  record.committers.assign(attempt.replicas.size(), {});
  for (std::size_t i = 0; i < attempt.committers.size() && i < attempt.committer_stages.size(); ++i) {
    const auto stage = static_cast<std::size_t>(attempt.committer_stages[i]);
    if (stage < record.committers.size()) record.committers[stage].push_back(attempt.committers[i].key);
  }
  record.tokens_hashes.assign(attempt.tokens_hashes.begin(), attempt.tokens_hashes.end());
  return record;
}

}  // namespace tessera::node::swarm
