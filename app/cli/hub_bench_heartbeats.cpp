// `tessera-hub bench`, heartbeats: members joined for real, then signed heartbeats from 8 threads.
#include <atomic>
#include <stdexcept>
#include <thread>

#include "app/cli/hub_bench.h"
#include "core/client/hub_client.h"

namespace tessera::cli::hub_bench {
namespace {

constexpr std::size_t kThreads = 8;

// Runs `work(i)` for i in [0, count) on kThreads threads; the first error is thrown.
template <typename Work>
void in_parallel(std::size_t count, Work work) {
  std::atomic<std::size_t> next{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        for (std::size_t i = next++; i < count; i = next++) work(i);
      } catch (const std::exception& error) {
        errors[t] = error.what();
      }
    });
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors)
    if (!error.empty()) throw std::runtime_error("bench heartbeats: " + error);
}

// A hub (with its store in a state folder, as tessera-hub keeps it) with `members` joined, then
// `per_member` heartbeats each. Joins are timed too (each is a challenge, a join and a commit).
nlohmann::json beat(std::size_t members, std::size_t per_member) {
  ScratchDir scratch;
  BenchHub hub(2, scratch.path);
  std::vector<Member> joined(members);
  const auto join_start = Clock::now();
  in_parallel(members, [&](std::size_t i) { joined[i] = join_member(hub); });
  const double join_seconds = ms_since(join_start) / 1000.0;
  std::vector<double> latencies(members * per_member);
  const auto start = Clock::now();
  in_parallel(latencies.size(), [&](std::size_t i) {
    client::HubClient client(hub.url(), std::chrono::seconds(30));
    const auto sent = Clock::now();
    if (!client.heartbeat(joined[i % members].key)) throw std::runtime_error("a member was forgotten");
    latencies[i] = ms_since(sent);
  });
  const double seconds = ms_since(start) / 1000.0;
  return {{"members", members},
          {"join_seconds", join_seconds},
          {"heartbeats", latencies.size()},
          {"heartbeats_per_s", static_cast<double>(latencies.size()) / seconds},
          {"p50_ms", percentile(latencies, 50)},
          {"p99_ms", percentile(latencies, 99)}};
}

}  // namespace

nlohmann::json bench_heartbeats(const Options& options) {
  const auto many = beat(options.members, options.heartbeats_per_member);
  const auto few = beat(10, options.members * options.heartbeats_per_member / 10);
  return {{"threads", kThreads},
          {"many", many},
          {"few", few},
          {"many_vs_few", many["heartbeats_per_s"].get<double>() / few["heartbeats_per_s"].get<double>()}};
}

}  // namespace tessera::cli::hub_bench
