// The runs this node's user added (docs/runs.md): <data dir>/runs.json, [{"link", "added_ms"}],
// each named by its run link, at most kMaxRuns, written atomically on every change. A damaged file
// is set aside as runs.json.damaged (with a warning) rather than lost or fatal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tessera::node {

struct KnownRun {
  std::string link;  // tessera://host:port/<run>#<publisher>
  std::string run;   // the run id the link names
  std::int64_t added_ms = 0;
};

class RunList {
 public:
  static constexpr std::size_t kMaxRuns = 64;
  static constexpr const char* kFileName = "runs.json";

  explicit RunList(std::filesystem::path data_dir);

  std::vector<KnownRun> runs() const;
  std::optional<KnownRun> find(const std::string& run) const;
  // Adds `link` (the same link again changes nothing). Throws std::invalid_argument for a link
  // that does not parse, another link for a run id already listed, or a full list.
  KnownRun add(const std::string& link);
  // Throws std::invalid_argument when no run has that id.
  void remove(const std::string& run);

 private:
  void save() const;  // under mutex_

  std::filesystem::path file_;
  mutable std::mutex mutex_;
  std::vector<KnownRun> runs_;
};

}  // namespace tessera::node
