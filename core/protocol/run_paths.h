// Where a run's API lives on a hub that serves several runs (issue 21): every run-scoped path of
// hub_api.h is served under /runs/<run id>; the same path without the prefix means the hub's
// default run. Shared by the hub (which dispatches by it and bounds bodies by the run-relative
// path) and its clients (which add the prefix when a run link names the run).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tessera::protocol {

inline constexpr std::string_view kRunsPathPrefix = "/runs/";

// 1 to 64 of A-Z a-z 0-9 . _ - (what a manifest's run id may be).
bool valid_run_path_id(std::string_view run_id);

// "/runs/<run id>": prepended to a run-relative path ("/api/join").
std::string run_path_prefix(std::string_view run_id);

struct RunPath {
  std::string_view run;       // empty: the default run (a path without the prefix)
  std::string_view relative;  // the path within the run, from its "/"
};

// "/runs/<run>/api/join" → {run, "/api/join"}; "/api/join" → {"", "/api/join"}. Nothing for a
// path under /runs/ without a valid run id or without a "/" and more after it.
std::optional<RunPath> split_run_path(std::string_view path);

// The run-relative part of `path` (the path itself when it has no valid prefix).
std::string_view run_relative_path(std::string_view path);

}  // namespace tessera::protocol
