// `tessera-hub bench`: the hub's throughput and latency under load, as one JSON object. Each part
// runs an in-process HubService on loopback and drives it only through HubService's public API,
// client::HubClient and raw HTTP, so the same code measures older hubs too (docs/hub.md says how
// the before/after figures were taken):
//   receipts    signed receipt batches of a node's size (500) from 4 reporters through POST
//               /api/receipts: verified and made durable per second, durable store vs in memory
//   heartbeats  members that joined for real (challenge + join), then signed heartbeats from 8
//               threads: per second with 1,000 members vs 10
//   gateway     small completions through /v1/completions to a stand-in stage-0 node (a CurveZMQ
//               server answering Infer with fixed logits): p50/p99 with and without 8 slow
//               clients that hold connections by sending a request a byte at a time
// The receipts part compares store kinds; the others run on a state folder, as tessera-hub does.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/hub_service.h"
#include "core/protocol/manifest.h"
#include "core/wallet/signing.h"

namespace CLI {
class App;
}

namespace tessera::cli::hub_bench {

struct Options {
  std::size_t receipts = 20000;  // per store kind
  std::size_t batch = 500;       // the node's batch (core/node/swarm/hub_link.cpp)
  std::size_t members = 1000;
  std::size_t heartbeats_per_member = 5;
  std::size_t completions = 200;
  int slow_clients = 8;
  std::vector<std::string> parts = {"receipts", "heartbeats", "gateway"};
};

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start);
// The p-th percentile (0..100) of `samples` (sorted here); 0 when there are none.
double percentile(std::vector<double> samples, double p);

// A scratch folder under the system's temporary folder, removed on destruction.
struct ScratchDir {
  ScratchDir();
  ~ScratchDir();
  std::filesystem::path path;
};

// An in-process hub on 127.0.0.1 for a fresh run of `stages` stages, with its hub key (it
// settles and serves the gateway); `state_dir` empty keeps its state in memory.
struct BenchHub {
  BenchHub(int stages, const std::filesystem::path& state_dir, int micro_batches = 1);
  ~BenchHub();
  wallet::KeyPair key = wallet::KeyPair::generate();
  protocol::RunManifest manifest;
  std::unique_ptr<hub::HubService> service;
  std::string url() const { return service->url(); }
};

// A node joined through the hub's challenge and join routes (with a new key unless `key` is
// given); `endpoint` is where it serves.
struct Member {
  wallet::KeyPair key = wallet::KeyPair::generate();
  int stage = -1;
};
Member join_member(const BenchHub& hub, const std::string& endpoint = "tcp://127.0.0.1:1",
                   const wallet::KeyPair* key = nullptr);

nlohmann::json bench_receipts(const Options& options);
nlohmann::json bench_heartbeats(const Options& options);
nlohmann::json bench_gateway(const Options& options);

// Adds `bench` to tessera-hub; `ran` is set when it ran (the hub itself then does not start).
void add_bench_command(CLI::App& app, bool& ran);

}  // namespace tessera::cli::hub_bench
