// `tessera-hub bench`: the command, and what its parts share.
#include "app/cli/hub_bench.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/client/hub_client.h"
#include "core/wallet/delegation.h"
#include "core/wallet/encoding.h"

namespace tessera::cli::hub_bench {

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0.0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

ScratchDir::ScratchDir() {
  std::random_device random;
  path = std::filesystem::temp_directory_path() / ("tessera-hub-bench-" + std::to_string(random()));
  std::filesystem::create_directories(path);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

BenchHub::BenchHub(int stages, const std::filesystem::path& state_dir, int micro_batches) {
  manifest.run_id = "bench-hub";
  manifest.model.layers = 2;
  manifest.model.width = 32;
  manifest.model.heads = 2;
  manifest.model.context = 16;
  manifest.train.micro_batch_size = 2;
  manifest.train.micro_batches = micro_batches;
  manifest.stages = stages;
  manifest.dataset = {"arithmetic"};
  manifest.price_per_1k_tokens = 1000;
  manifest.hub_key = key.public_key();
  protocol::sign_manifest(manifest, key);
  hub::HubOptions options;
  options.hub_key = &key;
  options.state_dir = state_dir;
  options.heartbeat_timeout = std::chrono::minutes(30);  // members stay while the bench runs
  options.open_gateway = true;                           // completions without a key: demo usage
  service = std::make_unique<hub::HubService>(manifest, options);
  service->start();
}

BenchHub::~BenchHub() { service->stop(); }

Member join_member(const BenchHub& hub, const std::string& endpoint, const wallet::KeyPair* key) {
  Member member;
  if (key) member.key = wallet::KeyPair::from_seed(key->seed());
  const auto owner = wallet::KeyPair::generate();
  protocol::JoinRequest request;
  request.delegation = wallet::sign_delegation(owner, member.key.public_key(), hub.manifest.run_id, 4102444800);
  request.endpoint = endpoint;
  request.device = {"cpu", 8ull << 30, 1000.0};
  member.stage = client::HubClient(hub.url(), std::chrono::seconds(30)).join(member.key, request);
  return member;
}

void add_bench_command(CLI::App& app, bool& ran) {
  auto options = std::make_shared<Options>();
  auto* bench = app.add_subcommand("bench", "Hub throughput and latency under load (JSON): receipts, heartbeats, gateway");
  bench->add_option("--receipts", options->receipts, "Receipts per store kind")->capture_default_str();
  bench->add_option("--batch", options->batch, "Receipts per batch")->check(CLI::Range(1, 100000))->capture_default_str();
  bench->add_option("--members", options->members, "Members joined for the heartbeat part")->capture_default_str();
  bench->add_option("--completions", options->completions, "Completions per gateway phase")->capture_default_str();
  bench->add_option("--slow-clients", options->slow_clients, "Slow clients holding connections")->capture_default_str();
  bench->add_option("--parts", options->parts, "Which parts to run")
      ->check(CLI::IsMember({"receipts", "heartbeats", "gateway"}))
      ->delimiter(',')
      ->capture_default_str();
  bench->add_flag("--json")->description("Print JSON (the only output format; accepted for symmetry)");
  bench->callback([options, &ran] {
    ran = true;
    // stdout carries the JSON: the hub's log lines go to stderr, warnings and errors only.
    spdlog::set_default_logger(spdlog::stderr_color_mt("tessera-hub-bench"));
    spdlog::set_level(spdlog::level::warn);
    nlohmann::json out{{"bench", "hub"}, {"hardware_threads", std::thread::hardware_concurrency()}};
    const auto wanted = [&](const char* part) {
      return std::find(options->parts.begin(), options->parts.end(), part) != options->parts.end();
    };
    if (wanted("receipts")) out["receipts"] = bench_receipts(*options);
    if (wanted("heartbeats")) out["heartbeats"] = bench_heartbeats(*options);
    if (wanted("gateway")) out["gateway"] = bench_gateway(*options);
    std::cout << out.dump(2) << std::endl;
  });
}

}  // namespace tessera::cli::hub_bench
