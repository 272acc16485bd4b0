// The runs routes over the node's control API (see runs_control.h).
#include "ui/runs_control.h"

#include "core/control/control_api.h"
#include "core/control/control_file.h"

namespace tessera::ui {
namespace {

class NodeRunsControl : public RunsControl {
 public:
  explicit NodeRunsControl(const control::ControlEndpoint& endpoint) : client_(endpoint.port, endpoint.token) {}

  NodeRuns list() override { return node_runs_from_report(client_.runs()); }
  NodeRuns add(const std::string& link) override { return node_runs_from_report(client_.add_run(link)); }
  NodeRuns remove(const std::string& run) override { return node_runs_from_report(client_.remove_run(run)); }
  NodeRuns join(const std::string& run) override { return node_runs_from_report(client_.join_run(run)); }
  NodeRuns leave() override { return node_runs_from_report(client_.leave_run()); }

 private:
  control::ControlClient client_;
};

}  // namespace

std::unique_ptr<RunsControl> connectToNodeRuns(const QString& control_file) {
  return std::make_unique<NodeRunsControl>(control::read_control_file(control_file.toStdString()));
}

}  // namespace tessera::ui
