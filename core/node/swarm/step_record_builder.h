// The step record a driver signs when a step commits (core/protocol/step_record.h), built from
// the attempt as it ran: every stage's replicas in the order the attempt routed them (micro-batch
// m went through replica m mod R), who installed the step per stage, the hub's route seed the
// order came from, and the content digest of each micro-batch's token ids. The hub credits a
// receipt only when it matches a slot of such a record.
#pragma once

#include "core/protocol/step_record.h"

namespace tessera::node::swarm {

struct RunContext;
struct StepAttempt;

protocol::StepRecord build_step_record(const RunContext& run, const StepAttempt& attempt);

}  // namespace tessera::node::swarm
