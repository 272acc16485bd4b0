// Step records to the hub, off the step's critical path.
#include "core/node/swarm/step_reporter.h"

#include <spdlog/spdlog.h>

#include "core/client/hub_client.h"
#include "core/node/swarm/run_context.h"

namespace tessera::node::swarm {
namespace {

constexpr auto kWarnEvery = std::chrono::seconds(30);

}  // namespace

StepReporter::~StepReporter() {
  try {
    settle();
  } catch (...) {  // a destructor throws nothing
  }
}

void StepReporter::post(protocol::StepRecord record, nlohmann::json progress) {
  settle();  // normally done already: the step that follows a report settles it before routing
  pending_ = std::async(std::launch::async, [this, record = std::move(record), progress = std::move(progress)] {
    return send(record, progress);
  });
}

// Runs on the report's own thread; `steps_unknown_` is touched only here, one report at a time.
StepReporter::Outcome StepReporter::send(const protocol::StepRecord& record, const nlohmann::json& progress) {
  try {
    if (!steps_unknown_) {
      try {
        return {hub_.report_step(run_.key, protocol::sign_step_record(record, run_.key), progress), std::nullopt};
      } catch (const client::HubRefused& refused) {
        if (!refused.unknown_path()) throw;
        steps_unknown_ = true;
        spdlog::warn("the hub does not take step records (POST /api/steps, an older hub): it gets the progress figures only");
      }
    }
    hub_.report_progress(run_.key, progress);
    return {};
  } catch (const std::exception& error) {
    return {std::nullopt, std::string(error.what())};
  }
}

std::optional<std::string> StepReporter::settle() {
  if (!pending_.valid()) return std::nullopt;
  auto outcome = pending_.get();
  if (outcome.error) failed(*outcome.error);
  return std::move(outcome.route_seed);
}

void StepReporter::failed(const std::string& why) {
  ++failures_;
  ++unwarned_;
  const auto now = std::chrono::steady_clock::now();
  if (last_warning_ != std::chrono::steady_clock::time_point{} && now - last_warning_ < kWarnEvery) return;
  spdlog::warn("step report: {} ({} failed report{} since the last warning; those steps earn no credit)", why, unwarned_,
               unwarned_ == 1 ? "" : "s");
  last_warning_ = now;
  unwarned_ = 0;
}

}  // namespace tessera::node::swarm
