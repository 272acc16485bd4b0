// POSIX file handling for key files.
#include "core/wallet/secure_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/wallet/errors.h"

namespace tessera::wallet {
namespace fs = std::filesystem;
namespace {

std::string error_text() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, std::span<const std::uint8_t> bytes, const fs::path& file) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw WalletError("cannot write " + file.string() + ": " + error_text());
    }
    done += static_cast<std::size_t>(n);
  }
}

template <typename Buffer>
Buffer read_whole(const fs::path& file, std::size_t max_bytes, Buffer (*make)(std::size_t)) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw WalletError("cannot open " + file.string() + ": " + error_text());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw WalletError("cannot read " + file.string() + ": " + error_text());
  if (!S_ISREG(info.st_mode)) throw WalletError(file.string() + " is not a regular file");
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes)
    throw WalletError(file.string() + " is too large (" + std::to_string(info.st_size) + " bytes, at most " +
                      std::to_string(max_bytes) + " expected)");
  Buffer buffer = make(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < buffer.size()) {
    const auto n = ::read(fd.get(), reinterpret_cast<std::uint8_t*>(buffer.data()) + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw WalletError("cannot read " + file.string() + ": " + error_text());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done != buffer.size()) throw WalletError(file.string() + " changed while it was being read; try again");
  return buffer;
}

}  // namespace

void write_file_atomic(const fs::path& target, std::span<const std::uint8_t> bytes, const AtomicWriteHooks& hooks,
                       IfExists if_exists) {
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string name = ".";
  name += target.filename().string();
  name += ".tmp-XXXXXX";
  std::string pattern = (folder / name).string();
  Fd fd(::mkostemp(pattern.data(), O_CLOEXEC));  // mode 0600; not inherited by child processes
  if (fd.get() < 0) throw WalletError("cannot create a temporary file in " + folder.string() + ": " + error_text());
  const fs::path temp(pattern);
  try {
    if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) throw WalletError("cannot set the mode of " + temp.string());
    write_all(fd.get(), bytes, temp);
    if (::fsync(fd.get()) != 0) throw WalletError("cannot flush " + temp.string() + " to disk: " + error_text());
    if (::close(fd.release()) != 0) throw WalletError("cannot close " + temp.string() + ": " + error_text());
    if (hooks.before_rename) hooks.before_rename(temp);
    if (if_exists == IfExists::Keep) {
      // link() fails if the target exists: the check and the creation are one step.
      if (::link(temp.c_str(), target.c_str()) != 0) {
        if (errno == EEXIST) throw FileExists(target.string() + " already exists; it is not overwritten");
        throw WalletError("cannot create " + target.string() + ": " + error_text());
      }
      ::unlink(temp.c_str());
    } else if (::rename(temp.c_str(), target.c_str()) != 0) {
      throw WalletError("cannot replace " + target.string() + ": " + error_text());
    }
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  // The rename is durable only once the folder's entry is on disk.
  Fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0)
    throw WalletError("wrote " + target.string() + " but could not flush its folder to disk (" + error_text() +
                      "); it may revert after a power cut");
}

SecureBytes read_file_secure(const fs::path& file, std::size_t max_bytes) {
  return read_whole<SecureBytes>(file, max_bytes, [](std::size_t n) { return SecureBytes(n); });
}

std::string read_file_text(const fs::path& file, std::size_t max_bytes) {
  return read_whole<std::string>(file, max_bytes, [](std::size_t n) { return std::string(n, '\0'); });
}

bool warn_if_permissions_too_open(const fs::path& file) {
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) return false;
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) == 0) return false;
  spdlog::warn("file permissions too open: {} can be read by other users of this computer (mode {:o}); run "
               "`chmod 600 {}`",
               file.string(), info.st_mode & 0777, file.string());
  return true;
}

}  // namespace tessera::wallet
