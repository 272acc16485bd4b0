// `tessera-node bench swarm`: in one run, tokens/s of the multi-process pipeline on loopback
// against the in-process pipeline (the ratio: the better of two swarm runs, first and last, against
// the best of the in-process runs before and after them), bytes per token per boundary and tokens/s for each
// codec, and the same swarm with its links limited to 80 Mbit/s by a token bucket (tc tbf on the
// loopback device of a network namespace the benchmark creates: every stage link shares it), and
// inference (bench_inference.h): completion tokens/s through the hub's gateway vs the same stages
// chained in one process with the same KV cache (`inference.ratio`), 8 concurrent clients, time to
// first token; and traffic (bench_traffic.h): each replica averaging scheme's bytes per token end to
// end, loss and tokens/s behind limited links.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/cli/bench_child.h"
#include "app/cli/bench_inference.h"
#include "app/cli/bench_relay.h"
#include "app/cli/bench_traffic.h"
#include "app/cli/commands.h"
#include "app/cli/global_options.h"
#include "app/cli/terminal.h"
#include "core/demo/local_network.h"
#include "core/hub/spot_checks.h"
#include "core/model/codec.h"
#include "core/model/data.h"
#include "core/node/swarm_node.h"
#include "core/wallet/delegation.h"
#include "core/engine/device_probe.h"
#include "core/engine/pipeline.h"
#include "core/engine/stage.h"
#include "core/protocol/hub_api.h"

namespace tessera::cli {
namespace {

using demo::LocalNetwork;
using demo::LocalNetworkOptions;

constexpr int kWarmup = 2;  // steps left out of the rates (process start, first allocations)
constexpr int kCheatTrials = 3;        // garbage-node runs, each until the hub excludes the node

LocalNetworkOptions bench_network(const std::string& codec) {
  auto o = demo::demo_network_defaults();
  o.model.layers = 3;
  o.model.width = 128;
  o.model.heads = 4;
  o.model.context = 64;
  o.train.micro_batch_size = 8;
  o.train.micro_batches = 4;
  o.codec = codec;
  o.stages = 3;
  o.replicas = 1;
  o.threads = 1;
  return o;
}

// A child's tokens/s, or the child's result as it is when it failed (it then says why).
nlohmann::json tokens_per_s_or_error(const nlohmann::json& result) {
  return result.contains("tokens_per_s") ? result["tokens_per_s"] : result;
}

// Runs `bench swarm-once` in a child with `arguments` (inside a rate-limited namespace when `limited`).
nlohmann::json run_child_with(const std::string& arguments, bool limited) {
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto folder = std::filesystem::temp_directory_path() / ("tessera-bench-swarm-" + std::to_string(getpid()));
  std::string command = shell_quote(self) + " --data-dir " + shell_quote(folder.string()) + " bench swarm-once " + arguments;
  if (limited)
    command = "unshare -n sh -c " +
              shell_quote("ip link set lo mtu 1500 up && tc qdisc add dev lo root tbf rate 80mbit burst 32kb latency 100ms && " +
                          command);
  command += " 2>/dev/null";
  const auto child = run_child_command(command);
  std::filesystem::remove_all(folder);
  auto parsed = nlohmann::json::parse(child.out, nullptr, false);
  if (child.status != 0 || parsed.is_discarded())
    return {{"error", limited ? "could not create a rate-limited network namespace (needs root: unshare -n, tc)"
                              : "the swarm run failed"}};
  return parsed;
}

nlohmann::json run_child(const std::string& codec, int steps, bool limited, double check_rate = 0.1) {
  return run_child_with("--codec " + shell_quote(codec) + " --steps " + std::to_string(steps) + " --check-rate " +
                            std::to_string(check_rate),
                        limited);
}

// Runs `bench swarm-cheat` in a child: the garbage node's steps until caught, per trial.
nlohmann::json run_cheat_child(int trials) {
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  const auto folder = std::filesystem::temp_directory_path() / ("tessera-bench-cheat-" + std::to_string(getpid()));
  const std::string command = shell_quote(self) + " --data-dir " + shell_quote(folder.string()) +
                              " bench swarm-cheat --trials " + std::to_string(trials) + " 2>/dev/null";
  const auto child = run_child_command(command);
  std::filesystem::remove_all(folder);
  auto parsed = nlohmann::json::parse(child.out, nullptr, false);
  if (child.status != 0 || parsed.is_discarded()) return {{"error", "the garbage-node run failed"}};
  return parsed;
}

struct OnceSettings {
  std::string codec = "none";
  int steps = 12;
  double check_rate = 0.1;
  int replicas = 1;
  model::AveragingConfig averaging;
  bool relayed = false;  // every peer but the first reached through its relay (bench_relay.h)
};

// The mean loss of the last (up to) 5 steps.
double recent_loss(const std::vector<nlohmann::json>& progress) {
  double sum = 0;
  int count = 0;
  for (auto i = progress.size(); i > 0 && count < 5; --i, ++count) sum += progress[i - 1].value("loss", 0.0);
  return count > 0 ? sum / count : 0.0;
}

// The nodes' traffic once every node's report covers the run's last step (its heartbeat after
// it), or as it is after 15 s.
nlohmann::json settled_traffic(LocalNetwork& network, double run_tokens, int stages) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  nlohmann::json traffic;
  while (true) {
    traffic = network.hub().traffic();
    double reported = 0;
    if (traffic.contains("nodes"))
      for (const auto& node : traffic["nodes"]) reported += node.is_object() ? node.value("tokens", 0.0) : 0.0;
    if (reported >= run_tokens * stages || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return summarize_traffic(traffic, run_tokens);
}

void swarm_once(const OnceSettings& s, const GlobalOptions& global) {
  log_to_stderr();
  auto options = bench_network(s.codec);
  options.check_rate = s.check_rate;
  options.train.total_steps = s.steps;
  options.replicas = s.replicas;
  options.averaging = s.averaging;
  options.relayed = s.relayed;
  options.folder = global.resolved_data_dir();
  LocalNetwork network(options);
  network.start(options.stages * options.replicas);
  std::vector<nlohmann::json> progress;
  const auto started = std::chrono::steady_clock::now();
  while (static_cast<int>(progress.size()) < s.steps) {
    if (auto message = network.check_children()) throw std::runtime_error(*message);
    if (std::chrono::steady_clock::now() - started > std::chrono::minutes(10)) throw std::runtime_error("swarm stalled");
    progress = network.hub().progress();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double run_tokens = 0;
  for (const auto& step : progress) run_tokens += step.value("tokens", 0.0);
  const auto traffic = settled_traffic(network, run_tokens, options.stages);
  nlohmann::json inference;
  if (s.codec == "none" && s.replicas == 1) inference = measure_inference(network, options);
  nlohmann::json checks;
  if (auto* spot = network.hub().spot_checks()) checks = spot->summary();
  network.stop();
  double tokens = 0, seconds = 0, bytes = 0;
  for (std::size_t i = kWarmup; i < progress.size(); ++i) {
    tokens += progress[i].value("tokens", 0.0);
    seconds += progress[i].value("seconds", 0.0);
    bytes += progress[i].value("bytes_per_token", 0.0);
  }
  const double counted = static_cast<double>(progress.size() - kWarmup);
  nlohmann::json result{{"tokens_per_s", seconds > 0 ? tokens / seconds : 0.0},
                        {"bytes_per_token", counted > 0 ? bytes / counted : 0.0},
                        {"loss", recent_loss(progress)},
                        {"traffic", traffic}};
  if (!inference.empty()) result["inference"] = inference;
  result["checks"] = checks;
  result["slots"] = static_cast<double>(progress.size()) * options.train.micro_batches * options.stages * options.replicas;
  std::cout << result.dump() << std::endl;
}

// How many steps a garbage-sending node serves before the hub excludes it, measured: the bench's
// network at check rate `check_rate`, joined by a node::SwarmNode of this process whose activations
// are garbage (SwarmNodeOptions::tamper; it serves stage 0 as a second replica), with a fresh node
// key and owner each trial (an exclusion bars the owner). A sample is the step at which it saw
// itself excluded less its first committed step.
void swarm_cheat(int trials, double check_rate, const GlobalOptions& global) {
  log_to_stderr();
  auto options = bench_network("none");
  options.check_rate = check_rate;
  options.train.total_steps = 100000000;
  options.folder = global.resolved_data_dir();
  LocalNetwork network(options);
  network.start(options.stages * options.replicas);
  nlohmann::json samples = nlohmann::json::array();
  for (int trial = 0; trial < trials; ++trial) {
    const auto key = wallet::KeyPair::generate();
    const auto owner = wallet::KeyPair::generate();
    node::SwarmNodeOptions o;
    o.hub_url = network.hub_url();
    o.data_dir = options.folder / ("garbage-" + std::to_string(trial));
    o.threads = options.threads;
    o.hop_timeout = std::chrono::milliseconds(3000);
    o.tamper.garbage_activations = true;
    node::SwarmNode cheat(key, wallet::sign_delegation(owner, key.public_key(), wallet::kAnyRun, 4102444800), o);
    std::atomic<bool> stop{false};
    std::thread runner([&] {
      try {
        cheat.run(stop);
      } catch (const std::exception& error) {
        std::cerr << "garbage node stopped: " << error.what() << std::endl;
      }
    });
    std::optional<std::int64_t> first, last;
    const auto started = std::chrono::steady_clock::now();
    while (!last && std::chrono::steady_clock::now() - started < std::chrono::minutes(5)) {
      if (auto message = network.check_children()) {
        stop = true;
        runner.join();
        throw std::runtime_error(*message);
      }
      const auto status = cheat.status();
      if (!first && cheat.stats().committed_steps > 0) first = status.step - 1;
      if (status.state == "excluded") last = status.step - 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop = true;
    runner.join();
    if (first && last) samples.push_back(*last - *first);
    else samples.push_back(nullptr);  // not caught within 5 minutes (or never took part)
  }
  network.stop();
  std::cout << nlohmann::json{{"samples", samples}}.dump() << std::endl;
}

// The in-process pipeline (same model, stages and data) with `blas_threads` in OpenBLAS's pool
// (libtorch itself always has the nodes' one thread).
double in_process_tokens_per_s(int steps, int blas_threads) {
  const auto o = bench_network("none");
  auto train = o.train;
  train.total_steps = steps;
  engine::Pipeline pipeline({o.model, train, o.stages, model::CodecKind::none, "cpu", o.threads, 0});
  if (blas_threads > 0) engine::set_blas_threads(blas_threads);  // after the stages set theirs
  const auto data = model::DataSource::arithmetic(o.model.context, o.model.seed);
  double tokens = 0, seconds = 0;
  for (int step = 0; step < steps; ++step) {
    std::vector<std::vector<std::int32_t>> batches;
    for (int m = 0; m < train.micro_batches; ++m)
      batches.push_back(data.micro_batch(step, m, train.micro_batches, train.micro_batch_size));
    const auto start = std::chrono::steady_clock::now();
    const auto metrics = pipeline.train_step(batches);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (step >= kWarmup) {
      tokens += metrics.at("tokens");
      seconds += elapsed;
    }
  }
  return seconds > 0 ? tokens / seconds : 0.0;
}

// The in-process baseline is the faster of two runs: every thread count at 1 (what each node
// process runs with), and libtorch at 1 with OpenBLAS's pool at its default (one thread per core:
// what the in-process baseline had before nodes set their BLAS pool too). Both are measured before
// and after the swarm runs and the better figure is kept, so load from other programs during one
// of them does not flatter the swarm.
struct InProcessBaseline {
  int blas_default = engine::blas_threads();
  int node_threads = bench_network("none").threads;
  double one_thread = 0, blas_pool = 0;

  void measure(int steps) {
    one_thread = std::max(one_thread, in_process_tokens_per_s(steps, node_threads));
    if (blas_default > node_threads) blas_pool = std::max(blas_pool, in_process_tokens_per_s(steps, blas_default));
    if (blas_default > 0) engine::set_blas_threads(blas_default);
  }
  double best() const { return std::max(one_thread, blas_pool); }
  nlohmann::json runs() const {
    nlohmann::json out{{"torch_threads_" + std::to_string(node_threads) + "_blas_threads_" + std::to_string(node_threads), one_thread}};
    if (blas_pool > 0)
      out["torch_threads_" + std::to_string(node_threads) + "_blas_threads_" + std::to_string(blas_default)] = blas_pool;
    return out;
  }
};

struct SwarmRuns {
  nlohmann::json codecs = nlohmann::json::object();   // one run per codec
  nlohmann::json limited = nlohmann::json::object();  // tokens/s (or the error) behind 80 Mbit/s links
  nlohmann::json again;                               // codec none, the last run
  nlohmann::json unchecked;                           // codec none, spot checks off
  nlohmann::json cheat;                               // a garbage node's steps until caught
  nlohmann::json traffic;                             // replica averaging schemes (bench_traffic.h)
  nlohmann::json relay;                               // direct against relayed (bench_relay.h)
};

// Every swarm run in a child process, each reported on stderr unless `json`.
SwarmRuns run_swarms(int steps, int traffic_steps, bool json) {
  SwarmRuns runs;
  for (const auto kind : model::all_codecs()) {
    const auto name = model::codec_name(kind);
    runs.codecs[name] = run_child(name, steps, false);
    if (!json) std::cerr << "codec " << name << ": " << runs.codecs[name].dump() << std::endl;
  }
  for (const std::string name : {"none", "subspace"}) {
    const auto result = run_child(name, steps, true);
    runs.limited[name] = tokens_per_s_or_error(result);
    if (!json) std::cerr << "80 Mbit/s, codec " << name << ": " << result.dump() << std::endl;
  }
  // The swarm with codec none runs twice too, first and last, like the baseline: the ratio is
  // the better swarm run against the better in-process run.
  // (codecs.none stays the first run, a single run like every other codec's.)
  runs.again = run_child("none", steps, false);
  if (!json) std::cerr << "codec none, second run: " << runs.again.dump() << std::endl;
  runs.unchecked = run_child("none", steps, false, 0.0);
  if (!json) std::cerr << "codec none, spot checks off: " << runs.unchecked.dump() << std::endl;
  runs.cheat = run_cheat_child(kCheatTrials);
  if (!json) std::cerr << "a garbage node, steps until caught: " << runs.cheat.dump() << std::endl;
  if (traffic_steps > 0) runs.traffic = measure_traffic(run_child_with, traffic_steps, json);
  runs.relay = measure_relay(run_child_with, steps, json);
  return runs;
}

// Takes the inference figures (bench_inference.h) out of codecs.none.
nlohmann::json take_inference(nlohmann::json& codecs) {
  auto inference = codecs["none"].value("inference", nlohmann::json::object());
  if (codecs["none"].contains("inference")) codecs["none"].erase("inference");
  return inference;
}

// Spot checks at the default rate: the share of slots checked, the throughput with them against
// the same swarm without (the better of the two checked runs), and how soon a node whose every
// slot is garbage is caught. A garbage slot fails its check with certainty (the recompute is
// exact on the CPU: tests/node/test_spot_check.cpp), so that is the sampler's arithmetic: each
// step, each node of the record is checked with probability q, on one of its slots.
// The measured figure comes from swarm_cheat: a real garbage node, its steps until excluded.
nlohmann::json verification_report(const nlohmann::json& first, const nlohmann::json& again, const nlohmann::json& off,
                                   const nlohmann::json& cheat) {
  const double q = first.value("checks", nlohmann::json::object()).value("rate", 0.1);
  double issued = 0, slots = 0;
  for (const auto* run : {&first, &again}) {
    const auto checks = run->value("checks", nlohmann::json::object());
    issued += checks.value("issued", 0.0);
    slots += run->value("slots", 0.0);
  }
  const double with = std::max(first.value("tokens_per_s", 0.0), again.value("tokens_per_s", 0.0));
  const double without = off.value("tokens_per_s", 0.0);
  const double caught_50 = 1.0 - std::pow(1.0 - q, 50.0);
  nlohmann::json measured = cheat.value("samples", nlohmann::json::array());
  std::vector<double> caught;
  for (const auto& sample : measured)
    if (sample.is_number()) caught.push_back(sample.get<double>());
  std::sort(caught.begin(), caught.end());
  nlohmann::json median = nullptr;
  if (!caught.empty() && caught.size() == measured.size())
    median = caught.size() % 2 ? caught[caught.size() / 2] : (caught[caught.size() / 2 - 1] + caught[caught.size() / 2]) / 2;
  return {{"rate", q},
          {"checks", first.value("checks", nlohmann::json::object())},
          {"fraction_of_slots_checked", slots > 0 ? issued / slots : 0.0},
          {"tokens_per_s_with_checks", with},
          {"tokens_per_s_without_checks", without},
          {"throughput_cost", without > 0 ? 1.0 - with / without : 0.0},
          {"garbage_node_caught_within_50_steps", caught_50},
          {"garbage_node_steps_to_99_percent", q > 0 && q < 1 ? std::ceil(std::log(0.01) / std::log(1.0 - q)) : 1.0},
          {"garbage_node_steps_until_caught", cheat.contains("error") ? cheat : measured},
          {"garbage_node_steps_until_caught_median", median},
          {"caught", "garbage_node_caught_within_50_steps and garbage_node_steps_to_99_percent are computed from the "
                     "rate (each node of a step is checked with probability q); garbage_node_steps_until_caught is "
                     "measured: a garbage-sending node joined the same swarm, from its first committed step to its "
                     "exclusion (null: not caught within 5 minutes), one sample per trial"}};
}

nlohmann::json swarm_report(const InProcessBaseline& baseline, SwarmRuns runs, int steps) {
  auto& codecs = runs.codecs;
  const auto multiprocess_runs =
      nlohmann::json::array({tokens_per_s_or_error(codecs["none"]), tokens_per_s_or_error(runs.again)});
  const double multi = std::max(codecs["none"].value("tokens_per_s", 0.0), runs.again.value("tokens_per_s", 0.0));
  const double in_process = baseline.best();
  auto inference = take_inference(codecs);
  const int node_threads = baseline.node_threads;
  return {{"in_process_tokens_per_s", in_process},
          {"in_process_runs", baseline.runs()},
          {"threads", {{"cores", std::thread::hardware_concurrency()},
                       {"processes", bench_network("none").stages},
                       {"per_process", {{"torch", node_threads}, {"blas", node_threads}}},
                       {"in_process", "the faster of in_process_runs, each the best of a run before and after the swarm's"},
                       {"multiprocess", "the faster of multiprocess_runs (codec none, the first and the last swarm run)"}}},
          {"schedule",
           {{"in_process", "one micro-batch at a time, forward through every stage then backward (one thread of control)"},
            {"multiprocess",
             "stage 0 keeps every micro-batch of the step in flight (F0 F1 F2 F3 B0 B1 B2 B3), passing each "
             "forward on at once, so the stages work on different micro-batches at the same time; each stage "
             "runs its forwards and backwards in micro-batch order, hence the same gradients as in process"}}},
          {"multiprocess_tokens_per_s", multi},
          {"multiprocess_runs", multiprocess_runs},
          {"multiprocess_ratio", in_process > 0 ? multi / in_process : 0.0},
          {"codecs", codecs},
          {"limited_link", runs.limited},
          {"limited_link_rate_mbit", 80},
          {"inference", inference},
          {"verification", verification_report(codecs["none"], runs.again, runs.unchecked, runs.cheat)},
          {"traffic", runs.traffic},
          {"relay", runs.relay},
          {"model", {{"layers", 3}, {"width", 128}, {"context", 64}, {"stages", 3}, {"micro_batch", 8},
                     {"micro_batches", 4}}},
          {"steps_timed", steps - kWarmup}};
}

void bench_swarm(int steps, int traffic_steps, bool json) {
  log_to_stderr();
  if (steps <= kWarmup) throw std::invalid_argument("--steps must be more than 2");
  InProcessBaseline baseline;
  baseline.measure(steps);
  auto runs = run_swarms(steps, traffic_steps, json);
  baseline.measure(steps);
  std::cout << swarm_report(baseline, std::move(runs), steps).dump(json ? -1 : 2) << std::endl;
}

}  // namespace

void add_bench_swarm_command(CLI::App& bench, const GlobalOptions& global) {
  auto steps = std::make_shared<int>(12);
  auto traffic_steps = std::make_shared<int>(60);
  auto json = std::make_shared<bool>(false);
  auto* command = bench.add_subcommand(
      "swarm", "Multi-process swarm on loopback vs the in-process pipeline, codecs, and 80 Mbit/s links");
  command->add_option("--steps", *steps, "Steps per configuration (the first 2 are not timed)")->capture_default_str();
  command->add_option("--traffic-steps", *traffic_steps, "Steps per replica averaging scheme (0: no traffic runs)")
      ->capture_default_str();
  command->add_flag("--json", *json, "Print JSON only");
  command->callback([steps, traffic_steps, json] { bench_swarm(*steps, *traffic_steps, *json); });
  auto* once = bench.add_subcommand("swarm-once", "One local swarm run for bench swarm (internal)");
  once->group("");
  auto settings = std::make_shared<OnceSettings>();
  once->add_option("--codec", settings->codec);
  once->add_option("--steps", settings->steps);
  once->add_option("--check-rate", settings->check_rate);
  once->add_option("--replicas", settings->replicas);
  once->add_option_function<std::string>("--averaging", [settings](const std::string& name) {
    settings->averaging.scheme = model::parse_averaging(name);
  });
  once->add_option("--averaging-rank", settings->averaging.rank);
  once->add_flag("--relayed", settings->relayed);
  auto* hop = bench.add_subcommand("relay-hop", "One relay hop's extra round trip, as bench swarm's relay.hop (JSON)");
  hop->callback([] { std::cout << relay_hop_latency().dump() << std::endl; });
  once->callback([settings, &global] { swarm_once(*settings, global); });
  auto* cheat = bench.add_subcommand("swarm-cheat", "A garbage-sending node in a local swarm until caught (internal)");
  cheat->group("");
  auto trials = std::make_shared<int>(kCheatTrials);
  auto cheat_rate = std::make_shared<double>(0.1);
  cheat->add_option("--trials", *trials);
  cheat->add_option("--check-rate", *cheat_rate);
  cheat->callback([trials, cheat_rate, &global] { swarm_cheat(*trials, *cheat_rate, global); });
}

}  // namespace tessera::cli
