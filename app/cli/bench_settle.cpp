// `tessera-node bench settle`: epoch settlement, statement publishing, proof and verification
// times for many owners.
#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "core/protocol/statement.h"

namespace tessera::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

nlohmann::json run_bench(int owners) {
  std::map<std::string, std::uint64_t> units;
  for (int i = 0; i < owners; ++i) units["owner-" + std::to_string(i)] = 1'000'000 + 7919ull * i;
  const auto first = protocol::settle_epoch({}, units, 0);

  const auto settle_start = Clock::now();
  const auto settlement = protocol::settle_epoch(first.state, units, 987'654'321);
  const double settle_ms = ms_since(settle_start);

  const auto hub = wallet::KeyPair::generate();
  const auto publish_start = Clock::now();
  const protocol::PublishedEpoch published("bench-run", settlement, hub);
  const double publish_ms = ms_since(publish_start);

  const int samples = std::min(owners, 2000);
  std::vector<protocol::LeafProof> proofs;
  proofs.reserve(samples);
  const auto proof_start = Clock::now();
  for (int i = 0; i < samples; ++i)
    proofs.push_back(*published.proof_for("owner-" + std::to_string(i * (owners / samples))));
  const double proof_us = ms_since(proof_start) * 1000.0 / samples;

  const auto verify_start = Clock::now();
  int verified = 0;
  for (const auto& proof : proofs) verified += protocol::verify_leaf(published.statement(), proof) ? 1 : 0;
  verified += protocol::verify_statement(published.statement(), hub.public_key()) ? 0 : -samples;
  const double verify_us = ms_since(verify_start) * 1000.0 / samples;
  if (verified != samples) throw std::runtime_error("bench settle: a proof failed to verify");

  return {{"owners", owners},
          {"settle_ms", settle_ms},
          {"publish_ms", publish_ms},
          {"proof_us", proof_us},
          {"verify_us", verify_us},
          {"proof_siblings", proofs.front().proof.siblings.size()}};
}

}  // namespace

void add_bench_settle(CLI::App& bench) {
  auto owners = std::make_shared<int>(100'000);
  auto* command = bench.add_subcommand("settle", "Epoch settlement, Merkle statement and proof times for many owners");
  command->add_option("--owners", *owners, "Number of owners")->check(CLI::Range(1, 10'000'000))->capture_default_str();
  command->add_flag("--json")->description("Print JSON (the only output format; accepted for symmetry)");
  command->callback([owners] { std::cout << run_bench(*owners).dump(2) << "\n"; });
}

}  // namespace tessera::cli
