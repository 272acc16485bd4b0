// The runs side of the node's control API (docs/runs.md): the runs its user added (RunList), their
// hubs' catalog entries (CatalogCache), this machine's fit for each (run_fit.h, from one doctor
// measurement per process), and joining, leaving and switching through the RunSwitcher. Also
// says in words what the node is doing now ("activity").
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/control/node_status.h"
#include "core/control/run_views.h"
#include "core/node/catalog_cache.h"
#include "core/node/doctor.h"
#include "core/node/run_list.h"
#include "core/node/run_switcher.h"

namespace tessera::node {

struct NodeRunsOptions {
  std::filesystem::path data_dir;
  std::string device = "cpu";  // what doctor measures: the device the node trains on
  // The node's memory limit setting now (bytes; 0: none), asked at each fit.
  std::function<std::uint64_t()> memory_limit;
  // The doctor's measurement; empty: node::run_doctor once, on the first report that needs it
  // (tests give a fixed report).
  std::function<DoctorReport()> measure;
};

class NodeRuns {
 public:
  NodeRuns(RunSwitcher& switcher, NodeRunsOptions options);

  // The runs with their catalog entries and fits (fetching stale catalogs first).
  control::RunsReport report();
  // The report without waiting on a hub or doctor: what is cached.
  control::RunsReport cached_report();
  control::RunsReport add(const std::string& link);
  control::RunsReport remove(const std::string& run);
  control::RunsReport join(const std::string& run);
  control::RunsReport leave();
  // Adds a link the node was started with (tessera-node run --hub LINK), if it is one; never throws.
  void remember(const std::string& hub_url);

  // The activity line for a switcher state and the current node's status (none when idle).
  static std::string activity(const RunSwitcher::State& state, const std::optional<control::NodeStatus>& status);

 private:
  control::RunsReport build(bool fetch);
  const DoctorReport& doctor();  // measured once

  RunSwitcher& switcher_;
  NodeRunsOptions options_;
  RunList list_;
  CatalogCache catalogs_;
  std::mutex doctor_mutex_;
  std::optional<DoctorReport> doctor_;
  std::mutex cached_mutex_;
  std::map<std::string, CatalogAnswer> cached_;  // the last fetched answers, by link
};

}  // namespace tessera::node
