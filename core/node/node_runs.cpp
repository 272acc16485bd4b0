// The runs report, commands and activity line (see node_runs.h).
#include "core/node/node_runs.h"

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

#include "core/node/run_fit.h"
#include "core/protocol/run_link.h"

namespace tessera::node {
namespace {

std::string with_reason(std::string text, const std::string& reason) {
  return reason.empty() ? text : text + ": " + reason;
}

}  // namespace

NodeRuns::NodeRuns(RunSwitcher& switcher, NodeRunsOptions options)
    : switcher_(switcher), options_(std::move(options)), list_(options_.data_dir) {}

const DoctorReport& NodeRuns::doctor() {
  std::lock_guard lock(doctor_mutex_);
  if (!doctor_) {
    if (options_.measure) {
      doctor_ = options_.measure();
    } else {
      DoctorOptions doctor_options;
      doctor_options.data_dir = options_.data_dir;
      doctor_options.device = options_.device;
      doctor_ = run_doctor(doctor_options);
    }
    spdlog::info("doctor measured {:.1f} GFLOP/s on {} for the runs' fits", doctor_->matmul_gflops, doctor_->device);
  }
  return *doctor_;
}

control::RunsReport NodeRuns::build(bool fetch) {
  const auto known = list_.runs();
  std::vector<std::string> links;
  for (const auto& run : known) links.push_back(run.link);
  std::map<std::string, CatalogAnswer> answers;
  if (fetch) {
    const auto fetched = catalogs_.entries(links);
    std::lock_guard lock(cached_mutex_);
    cached_.clear();
    for (std::size_t i = 0; i < links.size(); ++i) cached_[links[i]] = fetched[i];
  }
  {
    std::lock_guard lock(cached_mutex_);
    answers = cached_;
  }
  // Doctor measures only when there is a catalog entry to fit (it takes seconds).
  const bool any_entry = std::any_of(answers.begin(), answers.end(), [](const auto& a) { return a.second.entry.has_value(); });
  std::optional<MachineCapacity> machine;
  const std::uint64_t limit = options_.memory_limit ? options_.memory_limit() : 0;
  if (fetch && any_entry) {
    machine = machine_capacity(doctor(), limit);
  } else {
    std::lock_guard lock(doctor_mutex_);
    if (doctor_) machine = machine_capacity(*doctor_, limit);
  }

  control::RunsReport report;
  for (const auto& run : known) {
    control::RunView view{run.link, run.run, std::nullopt, std::nullopt, {}};
    const auto found = answers.find(run.link);
    if (found != answers.end()) {
      view.catalog = found->second.entry;
      view.error = found->second.error;
    }
    if (view.catalog && machine) view.fit = estimate_fit(protocol::run_catalog_entry_from_json(*view.catalog), *machine);
    report.runs.push_back(std::move(view));
  }
  const auto state = switcher_.state();
  std::optional<control::NodeStatus> status;
  if (const auto node = switcher_.node()) status = node->status();
  if (state.target) report.current = state.run.empty() && status && !status->run.empty() ? status->run : *state.target;
  report.activity = activity(state, status);
  return report;
}

control::RunsReport NodeRuns::report() { return build(true); }
control::RunsReport NodeRuns::cached_report() { return build(false); }

control::RunsReport NodeRuns::add(const std::string& link) {
  catalogs_.verify(link);
  list_.add(link);
  return report();
}

control::RunsReport NodeRuns::remove(const std::string& run) {
  const auto state = switcher_.state();
  if (state.target && *state.target == run)
    throw std::invalid_argument("the node is in run \"" + run + "\": leave it first");
  list_.remove(run);
  return cached_report();
}

control::RunsReport NodeRuns::join(const std::string& run) {
  const auto known = list_.find(run);
  if (!known)
    throw std::invalid_argument("no run \"" + run + "\" in the list: add its link first (tessera-node runs add LINK)");
  {
    std::lock_guard lock(cached_mutex_);
    const auto found = cached_.find(known->link);
    if (found != cached_.end() && found->second.entry && found->second.entry->value("retired", false))
      throw std::invalid_argument("run \"" + run + "\" is retired: its hub takes no new members");
  }
  switcher_.join(known->link, run);
  return cached_report();
}

control::RunsReport NodeRuns::leave() {
  switcher_.leave();
  return cached_report();
}

void NodeRuns::remember(const std::string& hub_url) {
  if (!protocol::is_run_link(hub_url)) return;
  try {
    list_.add(hub_url);
  } catch (const std::exception& error) {
    spdlog::warn("not adding {} to the runs list: {}", hub_url, error.what());
  }
}

std::string NodeRuns::activity(const RunSwitcher::State& state, const std::optional<control::NodeStatus>& status) {
  const auto& name = state.run.empty() ? (status && !status->run.empty() ? status->run : state.hub_url) : state.run;
  if (state.phase == RunSwitcher::Phase::idle)
    return state.error.empty() ? "idle" : "idle (the last run stopped: " + state.error + ")";
  if (state.phase == RunSwitcher::Phase::leaving)
    return "leaving " + name + (state.target ? " to join " + *state.target : std::string());
  if (state.phase == RunSwitcher::Phase::joining || !status) return "joining " + name;
  const auto& s = *status;
  const auto stage = "stage " + std::to_string(s.stage + 1) + " of " + std::to_string(s.stages);
  if (s.state == "running") return "training " + stage + " of " + name;
  if (s.state == "joining" && s.reason.rfind("fetching", 0) == 0) return "fetching " + stage + "'s state for " + name;
  if (s.state == "joining" || s.state == "starting" || s.state.empty()) return "joining " + name;
  if (s.state == "waiting") return with_reason("waiting in " + name + " (" + stage + ")", s.reason);
  if (s.state == "paused" || s.state == "snoozed") return with_reason(s.state + " in " + name, s.reason);
  if (s.state == "excluded") return with_reason("excluded from " + name, s.reason);
  return with_reason(s.state + " in " + name, s.reason);
}

}  // namespace tessera::node
