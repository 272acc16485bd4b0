// `bench engine --compare-backends` (bench_backends.h).
#include "app/cli/bench_backends.h"

#include <filesystem>
#include <iostream>

#include "app/cli/bench_child.h"
#include "core/engine/backend_loader.h"

namespace tessera::cli {

namespace {

nlohmann::json run_child(const std::string& backend, const std::vector<std::string>& arguments) {
  std::string command = shell_quote(std::filesystem::read_symlink("/proc/self/exe").string()) + " --backend " +
                        backend + " bench engine";
  for (const auto& argument : arguments) command += " " + shell_quote(argument);
  const auto child = run_child_command(command + " 2>/dev/null");
  auto parsed = nlohmann::json::parse(child.out, nullptr, false);
  if (child.status != 0 || parsed.is_discarded()) return {{"error", "the " + backend + " backend's run failed"}};
  return parsed;
}

}  // namespace

nlohmann::json compare_backends(const std::vector<std::string>& arguments, int rounds) {
  const auto& available = engine::backend_choice().available;
  nlohmann::json runs = nlohmann::json::object();
  for (int round = 0; round < rounds; ++round)
    for (const auto& backend : available) {
      std::cerr << "round " << round + 1 << " of " << rounds << ": the " << backend << " backend..." << std::endl;
      runs[backend].push_back(run_child(backend, arguments));
    }
  nlohmann::json out = {{"device", "cpu"}, {"rounds", rounds}};
  for (const auto& [backend, list] : runs.items()) {
    nlohmann::json mean = nlohmann::json::object();
    for (const char* key : {"single_tokens_per_s", "mfu", "matmul_gflops", "pipeline_ratio_2", "pipeline_ratio_4"}) {
      double sum = 0.0;
      int count = 0;
      for (const auto& run : list)
        if (run.contains(key)) sum += run[key].get<double>(), ++count;
      if (count == rounds) mean[key] = sum / count;
    }
    if (!list.empty() && list[0].contains("torch_version")) mean["torch_version"] = list[0]["torch_version"];
    if (!list.empty() && list[0].contains("model")) out["model"] = list[0]["model"];
    for (const auto& run : list)
      if (run.contains("error")) mean["error"] = run["error"];
    out["backends"][backend] = mean;
  }
  if (out["backends"].contains("cpu") && out["backends"].contains("cuda") &&
      out["backends"]["cpu"].contains("single_tokens_per_s") && out["backends"]["cuda"].contains("single_tokens_per_s"))
    out["cuda_over_cpu_tokens_per_s"] = out["backends"]["cuda"]["single_tokens_per_s"].get<double>() /
                                        out["backends"]["cpu"]["single_tokens_per_s"].get<double>();
  return out;
}

}  // namespace tessera::cli
