// `bench engine --compare-backends`: the same throughput benchmark under each installed engine
// backend, each in its own process (a process loads one backend), alternating over rounds so that
// load from elsewhere on the machine falls on both alike.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::cli {

// Runs `tessera-node --backend B bench engine <arguments>` for B in cpu, cuda, `rounds` times each,
// and reports per backend the mean of each number, plus cuda_over_cpu_tokens_per_s.
nlohmann::json compare_backends(const std::vector<std::string>& arguments, int rounds);

}  // namespace tessera::cli
