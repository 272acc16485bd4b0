// `tessera-node run` (the contributor daemon: a hub's run, or the local network) and
// `tessera-node demo` (an embedded hub and local peers train the arithmetic corpus, then a summary).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/delegation_file.h"
#include "app/cli/global_options.h"
#include "app/cli/terminal.h"
#include "core/client/hub_http.h"
#include "core/demo/demo_run.h"
#include "core/net/loopback_host.h"
#include "core/node/node_daemon.h"
#include "core/sys/data_dir_lock.h"
#include "core/sys/paths.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"

namespace tessera::cli {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

void install_stop_signals() {
  log_to_stderr();
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // SIGHUP: the terminal or the session went away, so leave cleanly. A signal ignored when the
  // node started (`nohup tessera-node run &`) stays ignored, as whoever started it asked.
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction previous {};
    sigaction(signal_number, nullptr, &previous);
    if (previous.sa_handler != SIG_IGN) sigaction(signal_number, &action, nullptr);
  }
}

struct RunSettings {
  std::string hub;
  bool local = false;
  bool paused = false;
  bool no_control = false;
  std::string device = "cpu";
  int threads = 0;
  std::string listen;  // empty: 127.0.0.1 for a hub on loopback or the local network, else 0.0.0.0:7000
  std::string advertise;
  bool no_port_mapping = false;
  bool no_relay = false;
  int relay_port = -1;
  bool via_relay = false;
  int stages = 3;
  int replicas = 1;
  std::string codec = "none";
  int wait_peers = 0;
  int hop_timeout_ms = 8000;
  int lock_wait_ms = 0;
};

// A node of a hub elsewhere listens on every address at a fixed port (one to forward on a router);
// one of a hub on this machine, or of the local network, on loopback at any port.
// A node started with no run listens as one of a hub elsewhere (the runs it joins may be anywhere).
std::string default_listen(const std::string& hub, bool local) {
  const bool loopback = local || (!hub.empty() && net::is_loopback_host(client::HubEndpoint(hub).host()));
  return loopback ? "tcp://127.0.0.1:0" : "tcp://0.0.0.0:7000";
}

void run_node(const RunSettings& s, const GlobalOptions& global) {
  if (s.local && !s.hub.empty()) throw std::invalid_argument("--hub and --local exclude each other");
  const auto data_dir = global.resolved_data_dir();
  sys::ensure_data_dir(data_dir);
  // Before anything in the folder is touched (and before a local network starts), for the node's life.
  const sys::DataDirLock lock(data_dir, "tessera-node run", std::chrono::milliseconds(s.lock_wait_ms));
  install_stop_signals();
  const auto key = wallet::load_or_create_node_key(data_dir / wallet::kNodeKeyFileName);
  std::unique_ptr<demo::LocalNetwork> local;
  std::string hub_url = s.hub, network = s.hub;
  wallet::Delegation delegation;
  int threads = s.threads;
  if (s.local) {  // the local network: an embedded hub and peers for the other stages
    auto options = demo::demo_network_defaults();
    options.stages = s.stages;
    options.replicas = s.replicas;
    options.codec = s.codec;
    options.train.total_steps = 1000000;
    options.folder = data_dir / "local";
    options.epoch_seconds = 60;
    local = std::make_unique<demo::LocalNetwork>(options);
    local->start(s.stages * s.replicas - 1);
    hub_url = local->hub_url();
    network = "local";
    const auto own = data_dir / "delegation.json";
    delegation = std::filesystem::exists(own) ? read_delegation(own) : local->delegate(key.public_key());
    if (threads == 0) threads = 1;
  } else {  // a hub's run, or none until one is joined through the control API (tessera-node runs)
    if (hub_url.empty() && s.no_control)
      throw std::invalid_argument("without --hub or --local the node waits for a run to join through its control API: "
                                  "drop --no-control");
    delegation = read_delegation(data_dir / "delegation.json");
  }
  node::NodeDaemonOptions options;
  options.swarm.hub_url = hub_url;
  options.swarm.data_dir = data_dir;
  options.swarm.listen = s.listen.empty() ? default_listen(s.hub, s.local) : s.listen;
  options.swarm.advertise = s.advertise;
  options.swarm.map_port = !s.no_port_mapping;
  options.swarm.use_relays = !s.no_relay;
  options.swarm.relay_port = s.relay_port;
  options.swarm.via_relay = s.via_relay;
  options.swarm.device = s.device;
  options.swarm.threads = threads;
  options.swarm.wait_for_peers = local ? s.stages * s.replicas : s.wait_peers;
  options.swarm.hop_timeout = std::chrono::milliseconds(local ? 3000 : s.hop_timeout_ms);
  options.network = network;
  options.paused = s.paused;
  options.serve_control = !s.no_control;
  if (local)  // a local peer that dies takes the network down with it: say so
    options.check_peers = [&local] { return local->check_children(); };
  node::NodeDaemon daemon(key, delegation, std::move(options));
  daemon.run(g_stop);
  if (local) local->stop();
}

struct DemoSettings {
  demo::DemoOptions demo;
  bool json = false;
  bool serve = false;
};

void check_demo_settings(const DemoSettings& s) {
  if (s.demo.steps < 1) throw std::invalid_argument("--steps must be at least 1");
  const auto& network = s.demo.network;
  if (network.stages < 1 || network.replicas < 1 || network.stages * network.replicas > 64)
    throw std::invalid_argument("--stages and --replicas must be at least 1 (at most 64 peers)");
}

void progress_bar(int step, int steps, const nlohmann::json& last) {
  const int width = 30;
  const int filled = steps > 0 ? step * width / steps : width;
  std::fprintf(stderr, "\r[%s%s] step %d/%d  loss %.4f  %.0f tokens/s  %.1f bytes/token ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), '.').c_str(), step, steps, last.value("loss", 0.0),
               last.value("seconds", 0.0) > 0 ? last.value("tokens", 0.0) / last.value("seconds", 1.0) : 0.0,
               last.value("bytes_per_token", 0.0));
  std::fflush(stderr);
}

// The network's line for people, and the gateway's: on stdout for people and on stderr when stdout
// carries the JSON summary.
void print_network(const DemoSettings& s, demo::DemoRun& run) {
  const auto& o = run.options().network;
  auto& network = run.network();
  if (!s.json)
    std::cerr << "local network: hub " << network.hub_url() << ", " << o.stages << " stages x " << o.replicas
              << " replicas, codec " << o.codec << ", run " << network.hub().manifest().run_id << "\n";
  (s.json ? std::cerr : std::cout) << "gateway: " << network.hub().gateway_url() << std::endl;
}

demo::DemoProgress progress_on_stderr(const DemoSettings& s) {
  if (s.json) return {};
  return {progress_bar, [](const demo::LocalPeer& peer, int stage) {
            std::cerr << "\nkilled " << peer.folder.filename().string() << " (stage " << stage << ") with SIGKILL\n";
          }};
}

void print_summary(const demo::DemoSummary& summary) {
  const auto& losses = summary.losses;
  std::cout << "loss curve:";
  const std::size_t every = std::max<std::size_t>(1, summary.steps / 10);
  for (std::size_t i = 0; i < summary.steps; i += every) std::cout << "  " << i + 1 << ": " << losses[i];
  std::cout << "  " << summary.steps << ": " << losses.back() << "\n";
  std::cout << "tokens/s " << summary.tokens_per_s << ", bytes per token per boundary " << summary.bytes_per_token << "\n";
  std::cout << "work logged: " << summary.work_rows << " rows; receipts: " << summary.tally.verified
            << " verified by the hub, " << summary.tally.rejected << " rejected, " << summary.receipts_logged
            << " in the logs; " << summary.ledgers_verified << " of " << summary.peers << " logs verify\n";
  std::cout << "your log: " << summary.ledger.string() << " (tessera-node --data-dir "
            << summary.ledger.parent_path().string() << " log summary)\n";
}

// --serve: the swarm and its gateway stay up until interrupted; epochs keep settling.
void serve_until_stopped(demo::DemoRun& run) {
  auto& hub = run.network().hub();
  std::cerr << "serving: the gateway " << hub.gateway_url() << " answers completions, an epoch settles every "
            << run.options().network.epoch_seconds << " s; Ctrl+C stops the network\n";
  run.serve(g_stop);
  std::cerr << "stopped after " << hub.settlement()->open_epoch() - 1 << " settled epochs\n";
}

void run_demo(const DemoSettings& s, const GlobalOptions& global) {
  check_demo_settings(s);
  const auto data_dir = global.resolved_data_dir();
  sys::ensure_data_dir(data_dir);
  sys::ensure_data_dir(data_dir / "demo");
  const sys::DataDirLock lock(data_dir / "demo", "tessera-node demo");  // the demo's peers live here
  install_stop_signals();
  demo::DemoRun run(s.demo, data_dir);
  // The user's own node may play peer 0 in a child process, which takes the folder's lock itself:
  // a node already running there is refused now, with its name, rather than as a dead peer later.
  { const sys::DataDirLock free_now(data_dir, "tessera-node demo"); }
  run.start();
  print_network(s, run);
  run.train(g_stop, progress_on_stderr(s));
  if (!s.json) std::cerr << "\n";
  auto inference = run.ask_next_token();
  if (!s.serve) run.network().stop();
  const auto summary = run.summarize(std::move(inference));
  if (s.json)
    std::cout << demo::to_json(summary).dump() << std::endl;
  else
    print_summary(summary);
  if (s.serve) serve_until_stopped(run);
}

void add_model_options(CLI::App* command, demo::LocalNetworkOptions& o) {
  command->add_option("--layers", o.model.layers, "Transformer blocks")->capture_default_str();
  command->add_option("--width", o.model.width, "Model width")->capture_default_str();
  command->add_option("--heads", o.model.heads, "Attention heads")->capture_default_str();
  command->add_option("--context", o.model.context, "Tokens per sequence")->capture_default_str();
  command->add_option("--seed", o.model.seed, "Run seed")->capture_default_str();
  command->add_option("--micro-batch", o.train.micro_batch_size, "Sequences per micro-batch")->capture_default_str();
  command->add_option("--micro-batches", o.train.micro_batches, "Micro-batches per step")->capture_default_str();
  command->add_option("--lr", o.train.lr, "Peak learning rate")->capture_default_str();
  command->add_option("--warmup", o.train.warmup_steps, "Warm-up steps")->capture_default_str();
}

// How replicas of a stage combine their gradients (the run manifest's "averaging").
void add_averaging_options(CLI::App* command, demo::LocalNetworkOptions& o) {
  command
      ->add_option_function<std::string>(
          "--averaging", [&o](const std::string& name) { o.averaging.scheme = model::parse_averaging(name); },
          "Replica averaging: exact (every fp32 gradient, summed) or powersgd (low-rank, error feedback)")
      ->default_str("exact");
  command->add_option("--averaging-rank", o.averaging.rank, "PowerSGD rank")
      ->capture_default_str()
      ->check(CLI::Range(1, model::kMaxAveragingRank));
}

}  // namespace

void add_run_command(CLI::App& app, const GlobalOptions& global) {
  auto s = std::make_shared<RunSettings>();
  auto* command = app.add_subcommand("run", "Run the contributor daemon: join a hub's run (or the local network) and train");
  command->add_option("--hub", s->hub, "The run's link (tessera://host:port/<run>#<publisher key>), or the hub's https:// URL "
                      "(http:// only to this machine); without it and --local, the node waits in no run for a join "
                      "through its control API (tessera-node runs join RUN)");
  command->add_flag("--local", s->local, "The local network: an embedded hub and local peers for the other stages (a demo "
                    "on this computer)");
  command->add_flag("--paused", s->paused, "Join, but do not train until started (control API)");
  command->add_option("--device", s->device, "cpu, cuda or cuda:N")->capture_default_str();
  command->add_option("--threads", s->threads, "libtorch CPU threads (0: default; 1 on the local network)");
  command->add_option("--listen", s->listen,
                      "Where this node's stage server listens (default: tcp://0.0.0.0:7000 for a hub elsewhere, "
                      "tcp://127.0.0.1:0 on this machine)");
  command->add_option("--advertise", s->advertise,
                      "The endpoint peers should use, tcp://host:port (default: the listening port at the address the "
                      "hub sees)");
  command->add_flag("--no-port-mapping", s->no_port_mapping,
                    "Do not ask the router for a port mapping (UPnP-IGD, NAT-PMP) when the hub cannot reach this node");
  command->add_flag("--no-relay", s->no_relay, "Do not go through a relay when the hub cannot reach this node");
  command->add_option("--relay", s->relay_port,
                      "Offer to relay for nodes nobody can reach, on this TCP port (0: any free one); relayed bytes "
                      "are credited like work")
      ->check(CLI::Range(0, 65535));
  command->add_flag("--via-relay", s->via_relay, "Always join through a relay (the relay benchmark)")->group("");
  command->add_option("--stages", s->stages, "Local network: pipeline stages")->capture_default_str();
  command->add_option("--replicas", s->replicas, "Local network: replicas per stage")->capture_default_str();
  command->add_option("--codec", s->codec, "Local network: boundary codec")->capture_default_str();
  command->add_flag("--no-control", s->no_control, "Do not serve the control API (local peers)")->group("");
  command->add_option("--hop-timeout-ms", s->hop_timeout_ms, "How long one stage and its link may take to answer")
      ->capture_default_str();
  command->add_option("--lock-wait-ms", s->lock_wait_ms,
                      "Wait this long for the node holding the data folder to let go (local peers)")
      ->group("");
  command->add_option("--wait-peers", s->wait_peers, "Before the first step, wait up to a minute for this many ready peers")
      ->group("");
  command->callback([s, &global] { run_node(*s, global); });
}

void add_demo_command(CLI::App& app, const GlobalOptions& global) {
  auto s = std::make_shared<DemoSettings>();
  s->demo.network.epoch_seconds = 10;  // short epochs, so a demo sees statements settle
  auto* command = app.add_subcommand(
      "demo", "Train the arithmetic corpus on a local network (embedded hub, one process per peer) and summarise");
  command->add_option("--steps", s->demo.steps, "Optimizer steps")->capture_default_str();
  command->add_option("--stages", s->demo.network.stages, "Pipeline stages")->capture_default_str();
  command->add_option("--replicas", s->demo.network.replicas, "Replicas per stage")->capture_default_str();
  command->add_option("--codec", s->demo.network.codec, "Boundary codec: none, fp16, int8 or subspace")->capture_default_str();
  command->add_option("--threads", s->demo.network.threads, "libtorch threads per peer")->capture_default_str();
  add_averaging_options(command, s->demo.network);
  command->add_option("--device", s->demo.network.device, "cpu, cuda or cuda:N")->capture_default_str();
  add_model_options(command, s->demo.network);
  command->add_flag("--json", s->json, "Print a machine-readable summary");
  command->add_flag("--serve", s->serve,
                    "After the steps, keep the network and its inference gateway up until interrupted");
  command->add_option("--epoch-seconds", s->demo.network.epoch_seconds, "Settlement epoch length")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400 * 30));
  command->add_option("--price", s->demo.network.price_per_1k_tokens,
                      "Inference price in micro-units (USDC) per 1,000 tokens")
      ->capture_default_str();
  command->add_flag("--infer-while-training", s->demo.infer_while_training,
                    "Generate through the swarm while it trains (training's results must not change)");
  command->add_option("--kill-replica-at", s->demo.kill_at, "SIGKILL a replica of a later stage at this step (churn check)")
      ->group("");
  command->add_option("--stall-seconds", s->demo.stall_seconds, "Give up after this long without progress")->group("");
  command->callback([s, &global] { run_demo(*s, global); });
}

}  // namespace tessera::cli
