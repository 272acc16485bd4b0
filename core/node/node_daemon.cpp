// The daemon's parts wired together (see node_daemon.h).
#include "core/node/node_daemon.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/control/control_api.h"
#include "core/control/control_file.h"
#include "core/control/event_bus.h"
#include "core/control/power_policy.h"
#include "core/node/node_control.h"
#include "core/node/node_runs.h"
#include "core/node/run_switcher.h"
#include "core/protocol/run_link.h"
#include "core/sys/host_state.h"

namespace tessera::node {

struct NodeDaemon::Impl {
  Impl(const wallet::KeyPair& node_key, wallet::Delegation owner_delegation, NodeDaemonOptions opts)
      : options(std::move(opts)),
        key(wallet::KeyPair::from_seed(node_key.seed())),
        delegation(std::move(owner_delegation)),
        runs(switcher, runs_options()),
        handler(switcher, runs, options.swarm.data_dir, options.swarm.hub_url, options.network, options.swarm.device),
        switcher([this](const std::string& hub_url) { return make_node(hub_url); }),
        server(handler, events),
        control_file(options.swarm.data_dir / control::kControlFileName) {
    if (options.paused) handler.pause(false);  // remembered for the nodes to come
  }

  NodeRunsOptions runs_options() {
    NodeRunsOptions out;
    out.data_dir = options.swarm.data_dir;
    out.device = options.swarm.device;
    out.memory_limit = [this] { return handler.settings().memory_limit_mib << 20; };
    return out;
  }

  // The SwarmNode of a run at `hub_url`, with the daemon's options, settings and power policy.
  std::shared_ptr<SwarmNode> make_node(const std::string& hub_url) {
    auto swarm_options = options.swarm;
    swarm_options.hub_url = hub_url;
    auto node = std::make_shared<SwarmNode>(key, delegation, swarm_options, &events);
    node->set_pause_reason([this] { return power_pause_reason(); });
    handler.configure(*node);
    return node;
  }

  // The power policy over the current settings and what this machine's probes read now.
  std::optional<std::string> power_pause_reason() {
    const auto settings = handler.settings();
    control::HostState host;
    if (settings.only_when_idle) host.idle_seconds = sys::input_idle_seconds();
    host.on_battery = sys::on_battery();
    const auto now = std::time(nullptr);
    std::tm local_time{};
    localtime_r(&now, &local_time);
    host.local_minute_of_day = local_time.tm_hour * 60 + local_time.tm_min;
    if (nvml.available()) {
      const auto gpu = nvml.read(0);
      host.gpu_temperature_c = gpu.temperature_c;
      host.gpu_power_w = gpu.power_w;
    }
    return policy.pause_reason(settings, host);
  }

  NodeDaemonOptions options;
  wallet::KeyPair key;
  wallet::Delegation delegation;
  control::EventBus events;
  control::PowerPolicy policy;
  sys::Nvml nvml;
  NodeRuns runs;        // uses the switcher, built after it: neither touches the other before run()
  NodeControl handler;
  RunSwitcher switcher;  // after what its nodes call (the handler, the policy): it goes first
  control::ControlServer server;
  std::filesystem::path control_file;
};

NodeDaemon::NodeDaemon(const wallet::KeyPair& node_key, wallet::Delegation delegation, NodeDaemonOptions options)
    : impl_(std::make_unique<Impl>(node_key, std::move(delegation), std::move(options))) {}

NodeDaemon::~NodeDaemon() = default;

void NodeDaemon::run(const std::atomic<bool>& stop) {
  auto& s = *impl_;
  if (s.options.serve_control) {
    s.server.start();
    control::write_control_file(s.control_file, ::getpid(), s.server.port(), s.server.token());
  }
  std::atomic<bool> done{false};
  std::thread watchdog;
  if (s.options.check_peers)
    watchdog = std::thread([&] {
      while (!done && !stop) {
        if (auto message = s.options.check_peers()) spdlog::error("{}", *message);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    });
  const auto remove_control_file = [&] {
    std::error_code ignored;
    if (s.options.serve_control) std::filesystem::remove(s.control_file, ignored);
  };
  if (const auto& start_run = s.options.swarm.hub_url; !start_run.empty()) {
    if (s.options.serve_control) s.runs.remember(start_run);
    s.switcher.join(start_run, protocol::is_run_link(start_run) ? protocol::parse_run_link(start_run).run_id : "", true);
  } else {
    spdlog::info("in no run: add a run's link and join it (tessera-node runs add LINK, tessera-node runs join RUN)");
  }
  try {
    s.switcher.run(stop);
  } catch (...) {
    done = true;
    if (watchdog.joinable()) watchdog.join();
    s.server.stop();
    remove_control_file();
    throw;
  }
  done = true;
  if (watchdog.joinable()) watchdog.join();
  s.server.stop();
  s.events.close();
  remove_control_file();
}

}  // namespace tessera::node
