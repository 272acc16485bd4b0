// The data folder's lock (see data_dir_lock.h): flock(2) on Linux and macOS, LockFileEx on Windows.
// flock, not fcntl: an fcntl lock belongs to the process and is dropped when any descriptor of the
// file closes anywhere in it, a flock lock to this one open file. The descriptor is close-on-exec,
// so the node's child processes never inherit (and so never keep) the lock.
#include "core/sys/data_dir_lock.h"

#include <chrono>
#include <cstring>
#include <string_view>
#include <thread>
#include <utility>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace tessera::sys {
namespace {

// The holder writes who it is right after taking the lock: a second process that finds the file
// still empty waits this long for it.
constexpr auto kHolderWriteWait = std::chrono::milliseconds(1000);
constexpr std::size_t kMaxHolderText = 512;
constexpr auto kRetryEvery = std::chrono::milliseconds(100);  // while waiting for a holder to let go

struct Holder {
  std::optional<std::int64_t> pid;
  std::string what;
};

// "<pid>\n<what>\n"
Holder parse_holder(std::string_view text) {
  Holder holder;
  const auto line_end = text.find('\n');
  if (line_end == std::string_view::npos) return holder;
  std::int64_t pid = 0;
  for (char c : text.substr(0, line_end)) {
    if (c < '0' || c > '9' || pid > (INT64_MAX - 9) / 10) return holder;
    pid = pid * 10 + (c - '0');
  }
  if (line_end == 0 || pid <= 0) return holder;
  holder.pid = pid;
  auto rest = text.substr(line_end + 1);
  holder.what = std::string(rest.substr(0, rest.find('\n')));
  return holder;
}

std::string holder_text(std::int64_t pid, const std::string& what) {
  return std::to_string(pid) + "\n" + what.substr(0, kMaxHolderText / 2) + "\n";
}

std::string describe_holder(std::optional<std::int64_t> pid, const std::string& what) {
  const std::string name = what.empty() ? "another Tessera node" : what;
  if (!pid) return name + " (its process id is not written yet)";
  return name + " (process " + std::to_string(*pid) + ")";
}

// Reads the holder back through `read` (the file's first bytes), waiting briefly for it to appear.
template <typename Read>
Holder wait_for_holder(Read&& read) {
  const auto deadline = std::chrono::steady_clock::now() + kHolderWriteWait;
  for (;;) {
    auto holder = parse_holder(read());
    if (holder.pid || std::chrono::steady_clock::now() >= deadline) return holder;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

#ifdef _WIN32

HANDLE as_handle(std::intptr_t handle) { return reinterpret_cast<HANDLE>(handle); }

// The locked byte lies far beyond the text, so other processes can still read who holds it
// (a LockFileEx region cannot be read by anyone else).
OVERLAPPED lock_region() {
  OVERLAPPED region{};
  region.OffsetHigh = 1;
  return region;
}

std::string read_text(HANDLE file) {
  char buffer[kMaxHolderText];
  DWORD got = 0;
  OVERLAPPED at_start{};
  if (!ReadFile(file, buffer, sizeof buffer, &got, &at_start)) return {};
  return std::string(buffer, got);
}

void write_text(HANDLE file, const std::string& text) {
  SetFilePointer(file, 0, nullptr, FILE_BEGIN);
  SetEndOfFile(file);
  DWORD written = 0;
  WriteFile(file, text.data(), static_cast<DWORD>(text.size()), &written, nullptr);
}

#else

std::string read_text(int fd) {
  char buffer[kMaxHolderText];
  const auto got = ::pread(fd, buffer, sizeof buffer, 0);
  return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
}

void write_text(int fd, const std::string& text) {
  if (::ftruncate(fd, 0) != 0) return;  // the lock holds without the text; only the message suffers
  [[maybe_unused]] const auto written = ::pwrite(fd, text.data(), text.size(), 0);
}

#endif

}  // namespace

DataDirInUse::DataDirInUse(const std::filesystem::path& dir, std::optional<std::int64_t> holder_pid,
                           const std::string& holder_what)
    : std::runtime_error("the data folder " + dir.string() + " is in use by " + describe_holder(holder_pid, holder_what) +
                         ": only one node may use a data folder at a time; stop that one first, or pass another "
                         "--data-dir"),
      holder_pid_(holder_pid) {}

#ifdef _WIN32

DataDirLock::DataDirLock(const std::filesystem::path& dir, const std::string& what, std::chrono::milliseconds wait)
    : file_(dir / kDataDirLockName) {
  HANDLE file = CreateFileW(file_.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE)
    throw std::runtime_error("cannot create the lock file " + file_.string() + " (error " +
                             std::to_string(GetLastError()) + ")");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    OVERLAPPED region = lock_region();
    if (LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &region)) break;
    const auto error = GetLastError();
    const bool held = error == ERROR_LOCK_VIOLATION || error == ERROR_IO_PENDING;
    if (held && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(kRetryEvery);
      continue;
    }
    if (held) {
      const auto holder = wait_for_holder([&] { return read_text(file); });
      CloseHandle(file);
      throw DataDirInUse(dir, holder.pid, holder.what);
    }
    CloseHandle(file);
    throw std::runtime_error("cannot lock " + file_.string() + " (error " + std::to_string(error) + ")");
  }
  write_text(file, holder_text(static_cast<std::int64_t>(GetCurrentProcessId()), what));
  handle_ = reinterpret_cast<std::intptr_t>(file);
}

DataDirLock::~DataDirLock() {
  if (handle_ == -1) return;
  HANDLE file = as_handle(handle_);
  write_text(file, {});
  OVERLAPPED region = lock_region();
  UnlockFileEx(file, 0, 1, 0, &region);
  CloseHandle(file);
}

#else

DataDirLock::DataDirLock(const std::filesystem::path& dir, const std::string& what, std::chrono::milliseconds wait)
    : file_(dir / kDataDirLockName) {
  const int fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create the lock file " + file_.string() + ": " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    if (error == EWOULDBLOCK && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(kRetryEvery);
      continue;
    }
    if (error == EWOULDBLOCK) {
      const auto holder = wait_for_holder([&] { return read_text(fd); });
      ::close(fd);
      throw DataDirInUse(dir, holder.pid, holder.what);
    }
    ::close(fd);
    throw std::runtime_error("cannot lock " + file_.string() + ": " + std::strerror(error));
  }
  write_text(fd, holder_text(static_cast<std::int64_t>(::getpid()), what));
  handle_ = fd;
}

DataDirLock::~DataDirLock() {
  if (handle_ == -1) return;
  // Emptied first: whoever takes the lock next must not be described by this process's text.
  const int fd = static_cast<int>(handle_);
  [[maybe_unused]] const int ignored = ::ftruncate(fd, 0);
  ::close(fd);  // releases the lock
}

#endif

DataDirLock::DataDirLock(DataDirLock&& other) noexcept
    : file_(std::move(other.file_)), handle_(std::exchange(other.handle_, -1)) {}

}  // namespace tessera::sys
