// The traffic benchmark: schemes, their child runs and the arithmetic of the report.
#include "app/cli/bench_traffic.h"

#include <iostream>
#include <map>
#include <vector>

namespace tessera::cli {
namespace {

struct Scheme {
  std::string name, codec, averaging;
  int rank = 0;
};

// Exact/none is the reference; exact/subspace is what a run used before PowerSGD existed.
const std::vector<Scheme> kSchemes{{"exact_none", "none", "exact", 0},
                                   {"exact_subspace", "subspace", "exact", 0},
                                   {"powersgd_none_rank_4", "none", "powersgd", 4},
                                   {"powersgd_subspace_rank_4", "subspace", "powersgd", 4},
                                   {"powersgd_subspace_rank_1", "subspace", "powersgd", 1}};

std::string arguments_of(const Scheme& s, int steps) {
  std::string out = "--replicas 2 --codec " + s.codec + " --averaging " + s.averaging + " --steps " + std::to_string(steps);
  if (s.rank > 0) out += " --averaging-rank " + std::to_string(s.rank);
  return out;
}

double number(const nlohmann::json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_number() ? object[key].get<double>() : 0.0;
}

double relative_gap(double loss, double reference) { return reference > 0 ? (loss - reference) / reference : 0.0; }

// One scheme's line of the report from its two runs.
nlohmann::json scheme_entry(const Scheme& s, const nlohmann::json& free, const nlohmann::json& limited) {
  const auto traffic = free.value("traffic", nlohmann::json::object());
  const double free_rate = number(free, "tokens_per_s"), limited_rate = number(limited, "tokens_per_s");
  nlohmann::json entry{{"codec", s.codec},
                       {"averaging", s.averaging},
                       {"bytes_per_token_end_to_end", number(traffic, "bytes_per_token")},
                       {"bytes_per_token_training", number(traffic, "bytes_per_token_training")},
                       {"bytes_per_token_by_kind", traffic.value("bytes_per_token_by_kind", nlohmann::json::object())},
                       {"loss", number(free, "loss")},
                       {"tokens_per_s", free_rate},
                       {"tokens_per_s_limited_link", limited_rate},
                       {"limited_link_ratio", free_rate > 0 ? limited_rate / free_rate : 0.0}};
  if (s.rank > 0) entry["rank"] = s.rank;
  if (free.contains("error")) entry["error"] = free["error"];
  if (limited.contains("error")) entry["limited_link_error"] = limited["error"];
  return entry;
}

}  // namespace

nlohmann::json summarize_traffic(const nlohmann::json& hub_traffic, double run_tokens) {
  std::map<std::string, double> bytes;
  double total = 0, training = 0;
  const auto& nodes = hub_traffic.contains("nodes") ? hub_traffic["nodes"] : nlohmann::json::array();
  for (const auto& node : nodes) {
    if (!node.is_object() || !node.contains("traffic") || !node["traffic"].is_object()) continue;
    for (const auto& [kind, counts] : node["traffic"].items()) {
      if (kind == "total" || !counts.is_object()) continue;
      const double once = (number(counts, "sent") + number(counts, "received")) / 2;
      bytes[kind] += once;
      total += once;
      if (kind != "spot_checks" && kind != "inference") training += once;
    }
  }
  nlohmann::json by_kind = nlohmann::json::object(), per_token = nlohmann::json::object();
  for (const auto& [kind, value] : bytes) {
    by_kind[kind] = value;
    per_token[kind] = run_tokens > 0 ? value / run_tokens : 0.0;
  }
  return {{"bytes", total},
          {"bytes_by_kind", by_kind},
          {"bytes_per_token", run_tokens > 0 ? total / run_tokens : 0.0},
          {"bytes_per_token_training", run_tokens > 0 ? training / run_tokens : 0.0},
          {"bytes_per_token_by_kind", per_token},
          {"run_tokens", run_tokens},
          {"nodes", nodes.size()}};
}

nlohmann::json measure_traffic(const SwarmChild& run, int steps, bool quiet) {
  nlohmann::json schemes = nlohmann::json::object();
  for (const auto& s : kSchemes) {
    const auto free = run(arguments_of(s, steps), false);
    const auto limited = run(arguments_of(s, steps), true);
    schemes[s.name] = scheme_entry(s, free, limited);
    if (!quiet) std::cerr << "traffic " << s.name << ": " << schemes[s.name].dump() << std::endl;
  }
  const auto& reference = schemes["exact_none"];
  const double base_bytes = number(reference, "bytes_per_token_end_to_end"), base_loss = number(reference, "loss");
  const double base_training = number(reference, "bytes_per_token_training");
  std::string best;
  for (const auto& s : kSchemes) {
    auto& entry = schemes[s.name];
    const double bytes = number(entry, "bytes_per_token_end_to_end");
    entry["compression_end_to_end"] = bytes > 0 ? base_bytes / bytes : 0.0;
    const double training = number(entry, "bytes_per_token_training");
    entry["compression_training"] = training > 0 ? base_training / training : 0.0;
    entry["loss_gap"] = relative_gap(number(entry, "loss"), base_loss);
    entry["loss_gap_vs_exact_same_codec"] =
        relative_gap(number(entry, "loss"), number(schemes["exact_" + s.codec], "loss"));
    const bool fits = entry["loss_gap"].get<double>() <= 0.02 && !entry.contains("error");
    if (fits && (best.empty() || number(entry, "compression_end_to_end") > number(schemes[best], "compression_end_to_end")))
      best = s.name;
  }
  return {{"stages", 3},
          {"replicas", 2},
          {"steps", steps},
          {"schemes", schemes},
          {"best", best.empty() ? nlohmann::json(nullptr) : nlohmann::json(best)},
          {"limited_link_rate_mbit", 80},
          {"how",
           "each scheme trains the same steps on the same data (S=3, R=2, the bench model); bytes are every node's "
           "traffic report (sent + received) / 2, per token the run trained (end_to_end: every kind; training: "
           "without spot checks and inference, which no averaging scheme changes); compression and loss_gap are "
           "against exact_none; loss is the mean of the last 5 steps; best: the most end-to-end compression with "
           "loss_gap <= 2 %"}};
}

}  // namespace tessera::cli
