// `tessera-hub bench`, receipts: signed batches through POST /api/receipts, durable vs in memory.
#include <algorithm>
#include <stdexcept>
#include <thread>

#include "app/cli/hub_bench.h"
#include "core/client/hub_client.h"
#include "core/protocol/receipt.h"

namespace tessera::cli::hub_bench {
namespace {

constexpr std::size_t kReporters = 4;

// One reporter's batches: Forward receipts from a stage-0 sender, signed by its stage-1 neighbour.
struct Outbox {
  Member sender;
  Member receiver;
  std::vector<std::vector<protocol::SignedReceipt>> batches;
};

// Joins a sender (stage 0) and a receiver (stage 1) per reporter: the hub gives the
// least-served stage, so members join until there are enough of each.
std::vector<Outbox> join_reporters(const BenchHub& hub) {
  std::vector<Member> stage[2];
  while (stage[0].size() < kReporters || stage[1].size() < kReporters) {
    auto member = join_member(hub);
    stage[member.stage].push_back(std::move(member));
  }
  std::vector<Outbox> outboxes(kReporters);
  for (std::size_t i = 0; i < kReporters; ++i) {
    outboxes[i].sender = std::move(stage[0][i]);
    outboxes[i].receiver = std::move(stage[1][i]);
  }
  return outboxes;
}

void sign_batches(Outbox& outbox, const Options& options, const std::string& run_id, std::uint64_t first_step) {
  const std::size_t count = std::max<std::size_t>(options.receipts / kReporters, 1);
  for (std::size_t made = 0; made < count;) {
    auto& batch = outbox.batches.emplace_back();
    for (; made < count && batch.size() < options.batch; ++made) {
      protocol::Receipt r;
      r.run_id = run_id;
      r.step = first_step + made;
      r.direction = protocol::Direction::Forward;
      r.sender = outbox.sender.key.public_key();
      r.receiver = outbox.receiver.key.public_key();
      r.stage = 0;
      r.tokens = 2048;
      batch.push_back(protocol::sign_receipt(r, outbox.receiver.key));
    }
  }
}

// Reports every batch, the reporters at once, to a hub with or without a state folder.
nlohmann::json report_all(const Options& options, bool durable) {
  ScratchDir scratch;
  BenchHub hub(2, durable ? scratch.path : std::filesystem::path());
  auto outboxes = join_reporters(hub);
  for (auto& outbox : outboxes) sign_batches(outbox, options, hub.manifest.run_id, 1);
  std::vector<std::vector<double>> latencies(kReporters);
  std::vector<std::uint64_t> accepted(kReporters, 0);
  std::vector<std::string> errors(kReporters);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < kReporters; ++i)
    threads.emplace_back([&, i] {
      try {
        client::HubClient client(hub.url(), std::chrono::seconds(60));
        for (const auto& batch : outboxes[i].batches) {
          const auto sent = Clock::now();
          accepted[i] += client.report_receipts(outboxes[i].sender.key, batch).at("accepted").get<std::uint64_t>();
          latencies[i].push_back(ms_since(sent));
        }
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    });
  for (auto& thread : threads) thread.join();
  const double seconds = ms_since(start) / 1000.0;
  std::uint64_t total = 0, sent = 0;
  std::vector<double> all;
  for (std::size_t i = 0; i < kReporters; ++i) {
    if (!errors[i].empty()) throw std::runtime_error("bench receipts: " + errors[i]);
    total += accepted[i];
    for (const auto& batch : outboxes[i].batches) sent += batch.size();
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
  }
  if (total != sent) throw std::runtime_error("bench receipts: the hub accepted " + std::to_string(total) + " of " +
                                              std::to_string(sent) + " receipts");
  return {{"receipts_per_s", static_cast<double>(total) / seconds},
          {"batches", all.size()},
          {"batch_p50_ms", percentile(all, 50)},
          {"batch_p99_ms", percentile(all, 99)}};
}

}  // namespace

nlohmann::json bench_receipts(const Options& options) {
  const auto durable = report_all(options, true);
  const auto memory = report_all(options, false);
  return {{"batch", options.batch},
          {"receipts", (std::max<std::size_t>(options.receipts / kReporters, 1)) * kReporters},
          {"reporters", kReporters},
          {"durable", durable},
          {"in_memory", memory},
          {"durable_vs_in_memory", durable["receipts_per_s"].get<double>() / memory["receipts_per_s"].get<double>()}};
}

}  // namespace tessera::cli::hub_bench
