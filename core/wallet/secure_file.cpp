// POSIX file handling for key files; the durable write itself is core/sys/durable_file.
#include "core/wallet/secure_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/sys/unique_fd.h"
#include "core/wallet/errors.h"

namespace tessera::wallet {
namespace fs = std::filesystem;
namespace {

std::string error_text() { return std::strerror(errno); }

using Fd = sys::UniqueFd;

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
  try {
    sys::write_file_durably(target, bytes, {sys::TempFile::OwnerOnlyUnique, if_exists, hooks.before_rename});
  } catch (const sys::FileAlreadyExists& error) {
    throw FileExists(error.what());
  } catch (const sys::FileWriteError& error) {
    throw WalletError(error.what());
  }
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
