// Inference through the swarm against the same stages in one process.
#include "app/cli/bench_inference.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <httplib.h>

#include "core/engine/stage.h"
#include "core/protocol/hub_api.h"

namespace tessera::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kClients = 8;
const std::string kPrompt = "12+34=";

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// One streamed greedy completion: its completion tokens and its time to the first text.
struct Streamed {
  double tokens = 0;
  double first_text_s = -1;
};

Streamed stream_completion(demo::LocalNetwork& network, const std::string& prompt) {
  const auto& hub = network.hub();
  httplib::Client client("127.0.0.1", hub.gateway_port());
  client.set_read_timeout(std::chrono::seconds(120));
  const nlohmann::json body{{"model", hub.manifest().run_id}, {"prompt", prompt}, {"max_tokens", kInferenceTokens},
                            {"temperature", 0}, {"stream", true}};
  httplib::Request request;
  request.method = "POST";
  request.path = protocol::hub_api::kCompletions;
  request.body = body.dump();
  request.set_header("Content-Type", "application/json");
  Streamed out;
  std::string events;
  const auto start = Clock::now();
  request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    events.append(data, size);
    if (out.first_text_s < 0 && events.find("\"text\":\"") != std::string::npos &&
        events.find("\"text\":\"\"") == std::string::npos)
      out.first_text_s = seconds_since(start);
    return true;
  };
  const auto reply = client.send(request);
  if (!reply || reply->status != 200) throw std::runtime_error("the gateway did not answer a streamed completion");
  const auto usage = events.rfind("\"completion_tokens\":");
  if (usage == std::string::npos || events.find("\"error\"") != std::string::npos)
    throw std::runtime_error("a streamed completion failed: " + events.substr(0, 400));
  out.tokens = std::stod(events.substr(usage + 20));
  return out;
}

// Completion tokens/s of one client, the best of two rounds after a warm-up.
double single_client_tokens_per_s(demo::LocalNetwork& network, std::vector<double>& first_text) {
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    const auto start = Clock::now();
    const auto streamed = stream_completion(network, kPrompt);
    if (round == 0) continue;
    best = std::max(best, streamed.tokens / seconds_since(start));
    first_text.push_back(streamed.first_text_s);
  }
  return best;
}

// Completion tokens/s of `kClients` clients at once (each its own prompt), all their tokens over
// the wall time of the slowest, the better of two rounds.
double concurrent_tokens_per_s(demo::LocalNetwork& network, std::vector<double>& first_text) {
  double best = 0;
  for (int round = 0; round < 2; ++round) {
    const auto start = Clock::now();
    std::vector<std::future<Streamed>> clients;
    for (int c = 0; c < kClients; ++c)
      clients.push_back(std::async(std::launch::async, [&network, c] {
        return stream_completion(network, std::to_string(c * 11 + 5) + "+" + std::to_string(c) + "=");
      }));
    double tokens = 0;
    for (auto& client : clients) {
      const auto streamed = client.get();
      tokens += streamed.tokens;
      first_text.push_back(streamed.first_text_s);
    }
    best = std::max(best, tokens / seconds_since(start));
  }
  return best;
}

std::vector<engine::Stage> local_stages(const demo::LocalNetworkOptions& o) {
  std::vector<engine::Stage> stages;
  for (int k = 0; k < o.stages; ++k) {
    engine::StageOptions options;
    options.model = o.model;
    options.train = o.train;
    options.stage_count = o.stages;
    options.stage_index = k;
    options.threads = o.threads;
    stages.emplace_back(options);
  }
  return stages;
}

std::int32_t argmax(const std::vector<float>& logits) {
  return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// The same greedy generation with the same stages chained in one process, with the KV cache:
// the prompt once, then one position a token (no network, no HTTP).
double in_process_cached_tokens_per_s(std::vector<engine::Stage>& stages) {
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::int32_t> fresh(kPrompt.begin(), kPrompt.end());
    std::int32_t start = 0;
    const auto t0 = Clock::now();
    for (int generated = 0; generated < kInferenceTokens; ++generated) {
      engine::DecodeEntry entry{static_cast<std::uint64_t>(round + 1), start, fresh, {}};
      for (std::size_t k = 0; k + 1 < stages.size(); ++k) {
        auto outcome = stages[k].decode({entry});
        entry.activations = std::move(outcome[0].activations);
      }
      const auto outcome = stages.back().decode({entry});
      start += static_cast<std::int32_t>(fresh.size());
      fresh = {argmax(outcome[0].logits)};
    }
    if (round > 0) best = std::max(best, kInferenceTokens / seconds_since(t0));
  }
  return best;
}

// The same without a cache: every token's whole window through every stage.
double in_process_whole_window_tokens_per_s(std::vector<engine::Stage>& stages, int context) {
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::int32_t> tokens(kPrompt.begin(), kPrompt.end());
    const auto t0 = Clock::now();
    for (int generated = 0; generated < kInferenceTokens; ++generated) {
      const auto first = tokens.size() > static_cast<std::size_t>(context) ? tokens.size() - context : 0;
      engine::ForwardMessage message;
      message.micro_batch = -1;
      message.batch = 1;
      message.sequence = static_cast<int>(tokens.size() - first);
      message.tokens.assign(tokens.begin() + static_cast<std::ptrdiff_t>(first), tokens.end());
      message.tokens.push_back(0);  // the target slot a forward message carries
      for (std::size_t k = 0; k + 1 < stages.size(); ++k) message = stages[k].evaluate(message).output;
      tokens.push_back(argmax(stages.back().last_position_logits(message)));
    }
    if (round > 0) best = std::max(best, kInferenceTokens / seconds_since(t0));
  }
  return best;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

}  // namespace

nlohmann::json measure_inference(demo::LocalNetwork& network, const demo::LocalNetworkOptions& options) {
  std::vector<double> first_alone, first_together;
  const double single = single_client_tokens_per_s(network, first_alone);
  const double together = concurrent_tokens_per_s(network, first_together);
  auto stages = local_stages(options);
  const double cached = in_process_cached_tokens_per_s(stages);
  const double whole = in_process_whole_window_tokens_per_s(stages, options.model.context);
  const auto ms = [](double s) { return s * 1000.0; };
  return {{"gateway_tokens_per_s", single},
          {"in_process_tokens_per_s", cached},
          {"in_process_whole_window_tokens_per_s", whole},
          {"ratio", cached > 0 ? single / cached : 0.0},
          {"concurrent_clients", kClients},
          {"concurrent_tokens_per_s", together},
          {"concurrent_ratio", single > 0 ? together / single : 0.0},
          {"time_to_first_token_ms",
           {{"one_client", {{"p50", ms(percentile(first_alone, 0.5))}, {"p99", ms(percentile(first_alone, 0.99))}}},
            {"concurrent", {{"p50", ms(percentile(first_together, 0.5))}, {"p99", ms(percentile(first_together, 0.99))}}},
            {"samples", first_alone.size() + first_together.size()}}},
          {"generated_tokens", kInferenceTokens},
          {"how", "greedy completions of 48 tokens streamed from the gateway (HTTP, hub, every stage process and "
                  "back for each token, the KV cache on each stage); in process: the same stages chained with the "
                  "same KV cache (in_process_tokens_per_s) and without it (whole window each token)"}};
}

}  // namespace tessera::cli
