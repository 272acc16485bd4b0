// `tessera-hub bench`, receipts: signed batches through POST /api/receipts, durable vs in memory.
// Credit follows commits: before the clock starts, a driver commits the steps whose slots the
// receipts claim (POST /api/steps), so every receipt is credited as an honest node's would be.
#include <algorithm>
#include <stdexcept>
#include <thread>

#include <httplib.h>

#include "app/cli/hub_bench.h"
#include "core/client/hub_client.h"
#include "core/hub/request_verifier.h"
#include "core/protocol/receipt.h"
#include "core/protocol/route_seed.h"
#include "core/protocol/step_record.h"

namespace tessera::cli::hub_bench {
namespace {

constexpr std::size_t kReporters = 4;
constexpr int kSlotsPerStep = static_cast<int>(protocol::kMaxRecordMicroBatches);  // micro-batches a step

// One reporter's batches: Forward receipts from a stage-0 sender, signed by its stage-1 neighbour.
struct Outbox {
  Member sender;
  Member receiver;
  std::vector<std::uint64_t> steps;  // committed with sender and receiver on the route
  std::vector<std::vector<protocol::SignedReceipt>> batches;
};

std::size_t receipts_per_reporter(const Options& options) { return std::max<std::size_t>(options.receipts / kReporters, 1); }

// POST /api/steps, signed by the driver; the next step's route seed.
std::optional<protocol::SignedRouteSeed> post_step(const BenchHub& hub, const wallet::KeyPair& driver,
                                                   const protocol::StepRecord& record) {
  const auto body = nlohmann::json{{"record", protocol::sign_step_record(record, driver).to_hex()}}.dump();
  const auto path = protocol::hub_api::kSteps;
  const auto headers =
      protocol::to_headers(protocol::sign_hub_request(hub.manifest.run_id, "POST", path, body, hub::unix_ms(), driver));
  httplib::Client client(hub.url());
  client.set_read_timeout(std::chrono::seconds(60));
  const auto reply = client.Post(path,
                                 {{protocol::kNodeKeyHeader, headers.node_key},
                                  {protocol::kTimeHeader, headers.time_ms},
                                  {protocol::kSignatureHeader, headers.signature}},
                                 body, "application/json");
  if (!reply || reply->status != 200)
    throw std::runtime_error("bench receipts: the hub refused a step record: " + (reply ? reply->body : "no answer"));
  return protocol::SignedRouteSeed::from_hex(nlohmann::json::parse(reply->body).value("route_seed", ""));
}

// The first sender, made ready, drives: each reporter gets the steps its receipts need.
void commit_steps(const BenchHub& hub, std::vector<Outbox>& outboxes, const Options& options) {
  const auto& driver = outboxes.front().sender.key;
  client::HubClient client(hub.url(), std::chrono::seconds(60));
  client.ready(driver);
  auto seed = protocol::SignedRouteSeed::from_hex(client.peer_list(driver).route_seed);
  const auto steps = (receipts_per_reporter(options) + kSlotsPerStep - 1) / kSlotsPerStep;
  std::uint64_t step = 1;
  for (std::size_t k = 0; k < steps; ++k)
    for (auto& outbox : outboxes) {
      protocol::StepRecord record;
      record.run_id = hub.manifest.run_id;
      record.step = step;
      record.attempt = 1;
      record.driver = driver.public_key();
      record.micro_batches = kSlotsPerStep;
      record.tokens_per_micro_batch =
          static_cast<std::uint32_t>(hub.manifest.train.micro_batch_size * hub.manifest.model.context);
      if (seed) record.route_seed = seed->seed.seed;
      record.replicas = {{outbox.sender.key.public_key()}, {outbox.receiver.key.public_key()}};
      record.committers = record.replicas;
      record.tokens_hashes.assign(kSlotsPerStep, protocol::Digest{});
      seed = post_step(hub, driver, record);
      outbox.steps.push_back(step++);
    }
}

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

void sign_batches(Outbox& outbox, const Options& options, const BenchHub& hub) {
  const std::size_t count = receipts_per_reporter(options);
  for (std::size_t made = 0; made < count;) {
    auto& batch = outbox.batches.emplace_back();
    for (; made < count && batch.size() < options.batch; ++made) {
      protocol::Receipt r;
      r.run_id = hub.manifest.run_id;
      r.step = outbox.steps[made / kSlotsPerStep];
      r.micro_batch = static_cast<std::uint32_t>(made % kSlotsPerStep);
      r.direction = protocol::Direction::Forward;
      r.sender = outbox.sender.key.public_key();
      r.receiver = outbox.receiver.key.public_key();
      r.stage = 0;
      r.tokens = static_cast<std::uint32_t>(hub.manifest.train.micro_batch_size * hub.manifest.model.context);
      batch.push_back(protocol::sign_receipt(r, outbox.receiver.key));
    }
  }
}

// Reports every batch, the reporters at once, to a hub with or without a state folder.
nlohmann::json report_all(const Options& options, bool durable) {
  ScratchDir scratch;
  BenchHub hub(2, durable ? scratch.path : std::filesystem::path(), kSlotsPerStep);
  auto outboxes = join_reporters(hub);
  commit_steps(hub, outboxes, options);
  for (auto& outbox : outboxes) sign_batches(outbox, options, hub);
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
          {"receipts", receipts_per_reporter(options) * kReporters},
          {"reporters", kReporters},
          {"durable", durable},
          {"in_memory", memory},
          {"durable_vs_in_memory", durable["receipts_per_s"].get<double>() / memory["receipts_per_s"].get<double>()}};
}

}  // namespace tessera::cli::hub_bench
