// `tessera-node run` (the contributor daemon: a hub's run, or the local network) and
// `tessera-node demo` (an embedded hub and local peers train the arithmetic corpus, then a summary).
#include <signal.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "app/cli/local_network.h"
#include "core/hub/swarm_inference.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"
#include "core/node/node_daemon.h"
#include "core/sys/paths.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"
#include "core/wallet/secure_file.h"

namespace tessera::cli {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

}  // namespace

// Log lines go to stderr: stdout carries only the command's result (--json).
void log_to_stderr() {
  static const auto logger = [] {
    auto created = spdlog::stderr_color_mt("tessera-node");
    spdlog::set_default_logger(created);
    if (const char* level = std::getenv("TESSERA_LOG")) spdlog::set_level(spdlog::level::from_str(level));
    return created;
  }();
  (void)logger;
}

namespace {

void install_stop_signals() {
  log_to_stderr();
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

wallet::Delegation read_delegation(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file))
    throw std::runtime_error("no delegation at " + file.string() +
                             ": let this machine work for your wallet first (tessera-node wallet delegate)");
  try {
    return wallet::Delegation::from_json(nlohmann::json::parse(wallet::read_file_text(file, 1 << 16)));
  } catch (const std::exception& error) {
    throw std::runtime_error("delegation " + file.string() + " is not valid: " + error.what());
  }
}

struct RunSettings {
  std::string hub;
  bool local = false;
  bool paused = false;
  bool no_control = false;
  std::string device = "cpu";
  int threads = 0;
  std::string listen = "tcp://127.0.0.1:0";
  int stages = 3;
  int replicas = 1;
  std::string codec = "none";
  int wait_peers = 0;
  int hop_timeout_ms = 8000;
};

void run_node(const RunSettings& s, const GlobalOptions& global) {
  if (s.local && !s.hub.empty()) throw std::invalid_argument("--hub and --local exclude each other");
  const auto data_dir = global.resolved_data_dir();
  sys::ensure_data_dir(data_dir);
  install_stop_signals();
  const auto key = wallet::load_or_create_node_key(data_dir / wallet::kNodeKeyFileName);
  std::unique_ptr<LocalNetwork> local;
  std::string hub_url = s.hub, network = s.hub;
  wallet::Delegation delegation;
  int threads = s.threads;
  if (hub_url.empty()) {  // the local network: an embedded hub and peers for the other stages
    auto options = demo_network_defaults();
    options.stages = s.stages;
    options.replicas = s.replicas;
    options.codec = s.codec;
    options.train.total_steps = 1000000;
    options.folder = data_dir / "local";
    options.epoch_seconds = 60;
    local = std::make_unique<LocalNetwork>(options);
    local->start(s.stages * s.replicas - 1);
    hub_url = local->hub_url();
    network = "local";
    const auto own = data_dir / "delegation.json";
    delegation = std::filesystem::exists(own) ? read_delegation(own) : local->delegate(key.public_key());
    if (threads == 0) threads = 1;
  } else {
    delegation = read_delegation(data_dir / "delegation.json");
  }
  node::NodeDaemonOptions options;
  options.swarm.hub_url = hub_url;
  options.swarm.data_dir = data_dir;
  options.swarm.listen = s.listen;
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
  LocalNetworkOptions network = demo_network_defaults();
  int steps = 60;
  bool json = false;
  int kill_at = 0;
  double stall_seconds = 300;
  bool serve = false;
};

std::int64_t count_rows(const std::filesystem::path& file, ledger::Table table) {
  if (!std::filesystem::exists(file)) return 0;
  try {
    return ledger::LedgerReader(file).row_count(table);
  } catch (const std::exception&) {
    return 0;
  }
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

void run_demo(DemoSettings& s, const GlobalOptions& global) {
  if (s.steps < 1) throw std::invalid_argument("--steps must be at least 1");
  if (s.network.stages < 1 || s.network.replicas < 1 || s.network.stages * s.network.replicas > 64)
    throw std::invalid_argument("--stages and --replicas must be at least 1 (at most 64 peers)");
  const auto data_dir = global.resolved_data_dir();
  sys::ensure_data_dir(data_dir);
  install_stop_signals();
  s.network.train.total_steps = s.steps;
  s.network.folder = data_dir / "demo";
  const int count = s.network.stages * s.network.replicas;
  // The user's own node plays peer 0 when this machine already works for their wallet.
  std::optional<std::filesystem::path> own;
  if (std::filesystem::exists(data_dir / "delegation.json") && std::filesystem::exists(data_dir / wallet::kNodeKeyFileName)) {
    try {
      const auto delegation = read_delegation(data_dir / "delegation.json");
      const auto key = wallet::load_or_create_node_key(data_dir / wallet::kNodeKeyFileName);
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      if (delegation.run_id == wallet::kAnyRun &&
          wallet::verify_delegation(delegation, key.public_key(), "demo", now) == wallet::DelegationStatus::Valid)
        own = data_dir;
    } catch (const std::exception&) {
    }
  }
  std::vector<std::filesystem::path> ledgers;
  for (int i = 0; i < count; ++i)
    ledgers.push_back((i == 0 && own ? *own : s.network.folder / ("peer-" + std::to_string(i))) /
                      std::string(ledger::kDefaultFileName));
  std::int64_t work_before = 0, receipts_before = 0;
  for (const auto& file : ledgers) {
    work_before += count_rows(file, ledger::Table::Work);
    receipts_before += count_rows(file, ledger::Table::Receipts);
  }

  LocalNetwork network(s.network);
  network.start(count, own);
  if (!s.json)
    std::cerr << "local network: hub " << network.hub_url() << ", " << s.network.stages << " stages x "
              << s.network.replicas << " replicas, codec " << s.network.codec << ", run "
              << network.hub().manifest().run_id << "\n";
  // The gateway line, on stdout for people and on stderr when stdout carries the JSON summary.
  (s.json ? std::cerr : std::cout) << "gateway: " << network.hub().gateway_url() << std::endl;
  std::vector<nlohmann::json> steps;
  auto last_progress = std::chrono::steady_clock::now();
  std::optional<std::size_t> killed;
  while (static_cast<int>(steps.size()) < s.steps) {
    if (g_stop) throw std::runtime_error("interrupted; the local peers were stopped");
    if (auto message = network.check_children()) throw std::runtime_error(*message);
    const auto now = std::chrono::steady_clock::now();
    auto fresh = network.hub().progress();
    if (fresh.size() > steps.size()) {
      steps = std::move(fresh);
      last_progress = now;
      if (!s.json) progress_bar(static_cast<int>(steps.size()), s.steps, steps.back());
    } else if (now - last_progress > std::chrono::duration<double>(s.stall_seconds)) {
      throw std::runtime_error("no training progress for " + std::to_string(static_cast<int>(s.stall_seconds)) +
                               " s; see the peers' node.log files under " + s.network.folder.string());
    }
    if (s.kill_at > 0 && !killed && static_cast<int>(steps.size()) >= s.kill_at) {
      // SIGKILL a replica of the last stage that has another live replica, not the driver's stage.
      const auto counts = network.hub().directory().replica_counts();
      for (std::size_t i = 0; i < network.peers().size() && !killed; ++i) {
        const auto peer = network.hub().directory().find(network.peers()[i].node_key);
        if (peer && peer->stage > 0 && counts[static_cast<std::size_t>(peer->stage)] >= 2) {
          network.kill_peer(i);
          killed = i;
          if (!s.json) std::cerr << "\nkilled " << network.peers()[i].folder.filename().string() << " (stage " << peer->stage << ") with SIGKILL\n";
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!s.json) std::cerr << "\n";
  // Ask the trained swarm for the next character after a sum (inference: forward only, no receipts).
  nlohmann::json inference;
  try {
    hub::SwarmInference swarm(network.hub().directory(), network.hub().manifest(), network.hub_key());
    const std::string prompt = "12+34=";
    const std::vector<std::int32_t> ids(prompt.begin(), prompt.end());
    const auto logits = swarm.next_token_logits(ids, std::chrono::seconds(10));
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    inference = {{"prompt", prompt}, {"next_token", best}, {"vocab", logits.size()}};
  } catch (const std::exception& error) {
    inference = {{"error", error.what()}};
  }
  if (!s.serve) network.stop();
  steps.resize(static_cast<std::size_t>(s.steps));

  std::int64_t work_rows = 0, receipts_logged = 0, killed_receipts = 0, statements_verified = 0;
  int ledgers_intact = 0;
  for (std::size_t i = 0; i < ledgers.size(); ++i) {
    const auto rows = count_rows(ledgers[i], ledger::Table::Receipts);
    work_rows += count_rows(ledgers[i], ledger::Table::Work);
    receipts_logged += rows;
    if (killed && *killed == i) killed_receipts = rows;
    if (std::filesystem::exists(ledgers[i]) && ledger::LedgerReader(ledgers[i]).verify(network.peers()[i].node_key).intact)
      ++ledgers_intact;
    statements_verified += count_rows(ledgers[i], ledger::Table::Statements);
  }
  work_rows -= work_before;
  receipts_logged -= receipts_before;
  double tokens = 0, seconds = 0, bytes = 0;
  nlohmann::json losses = nlohmann::json::array();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    losses.push_back(steps[i].value("loss", 0.0));
    bytes += steps[i].value("bytes_per_token", 0.0);
    if (i > 0 || steps.size() == 1) {  // the first step includes warm-up
      tokens += steps[i].value("tokens", 0.0);
      seconds += steps[i].value("seconds", 0.0);
    }
  }
  const auto tally = network.hub().tally();
  const auto& train = s.network.train;
  nlohmann::json summary{
      {"steps", steps.size()},
      {"stages", s.network.stages},
      {"replicas", s.network.replicas},
      {"codec", s.network.codec},
      {"run", network.hub().manifest().run_id},
      {"loss_first", losses.front()},
      {"loss_last", losses.back()},
      {"losses", losses},
      {"tokens_per_s", seconds > 0 ? tokens / seconds : 0.0},
      {"bytes_per_token", bytes / static_cast<double>(steps.size())},
      {"receipts_verified", tally.verified},
      {"receipts_rejected", tally.rejected},
      {"receipts_duplicate", tally.duplicates},
      {"receipts_expected", static_cast<std::int64_t>(steps.size()) * train.micro_batches * 2 * (s.network.stages - 1)},
      {"receipts_logged", receipts_logged},
      {"killed_peer_receipts", killed_receipts},
      {"work_rows", work_rows},
      {"ledgers_verified", ledgers_intact},
      {"peers", count},
      {"killed", killed.has_value()},
      {"inference", inference},
      {"step_seconds", [&] {
         auto list = nlohmann::json::array();
         for (const auto& step : steps) list.push_back(step.value("seconds", 0.0));
         return list;
       }()},
      {"ledger", ledgers.front().string()},
      {"gateway", network.hub().gateway_url()},
      {"epoch_seconds", s.network.epoch_seconds},
      {"epochs_settled", network.hub().settlement()->open_epoch() - 1},
      {"statements_verified", statements_verified},
      {"model", {{"layers", s.network.model.layers}, {"width", s.network.model.width}, {"heads", s.network.model.heads},
                 {"context", s.network.model.context}, {"seed", s.network.model.seed}}}};
  // --serve: the swarm and its gateway stay up until interrupted; epochs keep settling.
  const auto serve = [&] {
    if (!s.serve) return;
    std::cerr << "serving: the gateway " << network.hub().gateway_url() << " answers completions, an epoch settles every "
              << s.network.epoch_seconds << " s; Ctrl+C stops the network\n";
    while (!g_stop) {
      if (auto message = network.check_children()) throw std::runtime_error(*message);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    network.stop();
    std::cerr << "stopped after " << network.hub().settlement()->open_epoch() - 1 << " settled epochs\n";
  };
  if (s.json) {
    std::cout << summary.dump() << std::endl;
    serve();
    return;
  }
  std::cout << "loss curve:";
  const std::size_t every = std::max<std::size_t>(1, steps.size() / 10);
  for (std::size_t i = 0; i < steps.size(); i += every) std::cout << "  " << i + 1 << ": " << losses[i].get<double>();
  std::cout << "  " << steps.size() << ": " << losses.back().get<double>() << "\n";
  std::cout << "tokens/s " << summary["tokens_per_s"].get<double>() << ", bytes per token per boundary "
            << summary["bytes_per_token"].get<double>() << "\n";
  std::cout << "work logged: " << work_rows << " rows; receipts: " << tally.verified << " verified by the hub, "
            << tally.rejected << " rejected, " << receipts_logged << " in the logs; " << ledgers_intact << " of "
            << count << " logs verify\n";
  std::cout << "your log: " << ledgers.front().string() << " (tessera-node --data-dir "
            << ledgers.front().parent_path().string() << " log summary)\n";
  serve();
}

void add_model_options(CLI::App* command, LocalNetworkOptions& o) {
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

}  // namespace

void add_run_command(CLI::App& app, const GlobalOptions& global) {
  auto s = std::make_shared<RunSettings>();
  auto* command = app.add_subcommand("run", "Run the contributor daemon: join a hub's run (or the local network) and train");
  command->add_option("--hub", s->hub, "Hub URL (http://host:port); without it, the local network");
  command->add_flag("--local", s->local, "The local network: an embedded hub and local peers for the other stages");
  command->add_flag("--paused", s->paused, "Join, but do not train until started (control API)");
  command->add_option("--device", s->device, "cpu, cuda or cuda:N")->capture_default_str();
  command->add_option("--threads", s->threads, "libtorch CPU threads (0: default; 1 on the local network)");
  command->add_option("--listen", s->listen, "Where this node's stage server listens")->capture_default_str();
  command->add_option("--stages", s->stages, "Local network: pipeline stages")->capture_default_str();
  command->add_option("--replicas", s->replicas, "Local network: replicas per stage")->capture_default_str();
  command->add_option("--codec", s->codec, "Local network: boundary codec")->capture_default_str();
  command->add_flag("--no-control", s->no_control, "Do not serve the control API (local peers)")->group("");
  command->add_option("--hop-timeout-ms", s->hop_timeout_ms, "How long one stage and its link may take to answer")
      ->capture_default_str();
  command->add_option("--wait-peers", s->wait_peers, "Before the first step, wait up to a minute for this many ready peers")
      ->group("");
  command->callback([s, &global] { run_node(*s, global); });
}

void add_demo_command(CLI::App& app, const GlobalOptions& global) {
  auto s = std::make_shared<DemoSettings>();
  s->network.epoch_seconds = 10;  // short epochs, so a demo sees statements settle
  auto* command = app.add_subcommand(
      "demo", "Train the arithmetic corpus on a local network (embedded hub, one process per peer) and summarise");
  command->add_option("--steps", s->steps, "Optimizer steps")->capture_default_str();
  command->add_option("--stages", s->network.stages, "Pipeline stages")->capture_default_str();
  command->add_option("--replicas", s->network.replicas, "Replicas per stage")->capture_default_str();
  command->add_option("--codec", s->network.codec, "Boundary codec: none, fp16, int8 or subspace")->capture_default_str();
  command->add_option("--threads", s->network.threads, "libtorch threads per peer")->capture_default_str();
  command->add_option("--device", s->network.device, "cpu, cuda or cuda:N")->capture_default_str();
  add_model_options(command, s->network);
  command->add_flag("--json", s->json, "Print a machine-readable summary");
  command->add_flag("--serve", s->serve,
                    "After the steps, keep the network and its inference gateway up until interrupted");
  command->add_option("--epoch-seconds", s->network.epoch_seconds, "Settlement epoch length")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400 * 30));
  command->add_option("--price", s->network.price_per_1k_tokens,
                      "Inference price in micro-units (USDC) per 1,000 tokens")
      ->capture_default_str();
  command->add_option("--kill-replica-at", s->kill_at, "SIGKILL a replica of a later stage at this step (churn check)")
      ->group("");
  command->add_option("--stall-seconds", s->stall_seconds, "Give up after this long without progress")->group("");
  command->callback([s, &global] { run_demo(*s, global); });
}

}  // namespace tessera::cli
