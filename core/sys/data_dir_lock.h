// One node per data folder: an exclusive lock on <data-dir>/node.lock, held as long as the object
// lives. The lock is the operating system's (flock on Linux and macOS, LockFileEx on Windows), so
// it goes with the process however it ends: a file left behind by a killed node blocks nobody.
// Once the lock is taken the holder writes its process id and what it is into the file, so a
// second node can say who has the folder. Two nodes on one folder would both write the same
// contribution log, node key and control file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace tessera::sys {

inline constexpr const char* kDataDirLockName = "node.lock";

// Another process holds the folder. The message names the folder and the holder.
class DataDirInUse : public std::runtime_error {
 public:
  DataDirInUse(const std::filesystem::path& dir, std::optional<std::int64_t> holder_pid, const std::string& holder_what);
  // The holder's process id as it wrote it (none if it had not written it yet).
  std::optional<std::int64_t> holder_pid() const { return holder_pid_; }

 private:
  std::optional<std::int64_t> holder_pid_;
};

class DataDirLock {
 public:
  // Takes the lock on `dir` (which must exist) for this process, describing it as `what` (e.g.
  // "tessera-node run"). Throws DataDirInUse when another holds it (still, after waiting up to
  // `wait` for it to let go: a local peer restarted while its predecessor is still stopping),
  // std::runtime_error naming the file when the lock file cannot be created.
  DataDirLock(const std::filesystem::path& dir, const std::string& what,
              std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  ~DataDirLock();  // releases it
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  DataDirLock& operator=(DataDirLock&&) = delete;

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  std::intptr_t handle_ = -1;  // a file descriptor, or a Windows HANDLE; -1 when moved from
};

}  // namespace tessera::sys
