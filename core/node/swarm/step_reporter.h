// The driver's report of each committed step to its hub: the step record signed with the node key
// and the step's progress figures (POST /api/steps), signed and sent on their own thread while the
// next step begins. The
// hub's answer, the route seed of the next step, is collected when the next step orders its
// routes (settle), so the report costs the critical path only what is left of one request by
// then. One report is in flight at a time. A failed report is logged (a warning at most every
// 30 s, with how many failed since) and training goes on: that step earns no credit. A hub that
// does not serve /api/steps (an older one) gets the progress figures on /api/progress, as before.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/protocol/step_record.h"

namespace tessera::client {
class HubClient;
}

namespace tessera::node::swarm {

struct RunContext;

class StepReporter {
 public:
  StepReporter(const RunContext& run, client::HubClient& hub) : run_(run), hub_(hub) {}
  ~StepReporter();  // waits for the report in flight
  StepReporter(const StepReporter&) = delete;
  StepReporter& operator=(const StepReporter&) = delete;

  // Signs the record with the node key and sends the report, both on the report's thread (after
  // the report in flight has settled).
  void post(protocol::StepRecord record, nlohmann::json progress);
  // Waits for the report in flight, if any: the hex of the route seed the hub answered with
  // (nothing when none is in flight, the hub signs none, or the report failed: logged here).
  std::optional<std::string> settle();
  // Reports that failed so far (refused, unanswered, or never signed).
  std::uint64_t failures() const { return failures_; }

 private:
  struct Outcome {
    std::optional<std::string> route_seed;
    std::optional<std::string> error;
  };
  Outcome send(const protocol::StepRecord& record, const nlohmann::json& progress);
  void failed(const std::string& why);

  const RunContext& run_;
  client::HubClient& hub_;
  std::future<Outcome> pending_;
  bool steps_unknown_ = false;  // the hub has no /api/steps: progress only (read and set on the sending thread)
  std::uint64_t failures_ = 0;
  std::uint64_t unwarned_ = 0;  // failures since the last warning
  std::chrono::steady_clock::time_point last_warning_{};
};

}  // namespace tessera::node::swarm
