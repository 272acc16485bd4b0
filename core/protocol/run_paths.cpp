// Run-scoped paths (see run_paths.h).
#include "core/protocol/run_paths.h"

namespace tessera::protocol {

bool valid_run_path_id(std::string_view run_id) {
  if (run_id.empty() || run_id.size() > 64) return false;
  for (const char c : run_id) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string run_path_prefix(std::string_view run_id) {
  std::string prefix(kRunsPathPrefix);
  prefix.append(run_id);
  return prefix;
}

std::optional<RunPath> split_run_path(std::string_view path) {
  if (path.substr(0, kRunsPathPrefix.size()) != kRunsPathPrefix) return RunPath{{}, path};
  const auto rest = path.substr(kRunsPathPrefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) return std::nullopt;
  const auto run = rest.substr(0, slash);
  if (!valid_run_path_id(run)) return std::nullopt;
  return RunPath{run, rest.substr(slash)};
}

std::string_view run_relative_path(std::string_view path) {
  const auto split = split_run_path(path);
  return split ? split->relative : path;
}

}  // namespace tessera::protocol
