// POSIX durable file replacement: temp file, fsync, rename (or link), fsync of the folder.
#include "core/sys/durable_file.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sys/unique_fd.h"

namespace tessera::sys {
namespace fs = std::filesystem;
namespace {

std::string error_text() { return std::strerror(errno); }

using Fd = sys::UniqueFd;

struct Temp {
  Fd fd;
  fs::path path;
};

Temp create_temp(const fs::path& folder, const fs::path& target, TempFile kind) {
  if (kind == TempFile::SharedFixed) {
    fs::path temp = target.string() + ".tmp";
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));  // the umask applies
    if (fd.get() < 0) throw FileWriteError("cannot create " + temp.string() + ": " + error_text());
    return {std::move(fd), std::move(temp)};
  }
  std::string name = ".";
  name += target.filename().string();
  name += ".tmp-XXXXXX";
  std::string pattern = (folder / name).string();
  Fd fd(::mkostemp(pattern.data(), O_CLOEXEC));  // mode 0600; not inherited by child processes
  if (fd.get() < 0) throw FileWriteError("cannot create a temporary file in " + folder.string() + ": " + error_text());
  return {std::move(fd), fs::path(pattern)};
}

void write_all(int fd, std::span<const std::uint8_t> bytes, const fs::path& file) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileWriteError("cannot write " + file.string() + ": " + error_text());
    }
    done += static_cast<std::size_t>(n);
  }
}

// The finished temporary file's data onto the disk, then closed.
void flush_and_close(Fd& fd, const fs::path& temp) {
  if (::fsync(fd.get()) != 0) throw FileWriteError("cannot flush " + temp.string() + " to disk: " + error_text());
  if (::close(fd.release()) != 0) throw FileWriteError("cannot close " + temp.string() + ": " + error_text());
}

void move_into_place(const fs::path& temp, const fs::path& target, IfExists if_exists) {
  if (if_exists == IfExists::Keep) {
    // link() fails if the target exists: the check and the creation are one step.
    if (::link(temp.c_str(), target.c_str()) != 0) {
      if (errno == EEXIST) throw FileAlreadyExists(target.string() + " already exists; it is not overwritten");
      throw FileWriteError("cannot create " + target.string() + ": " + error_text());
    }
    ::unlink(temp.c_str());
  } else if (::rename(temp.c_str(), target.c_str()) != 0) {
    throw FileWriteError("cannot replace " + target.string() + ": " + error_text());
  }
}

// The rename is durable only once the folder's entry is on disk.
void flush_folder(const fs::path& folder, const fs::path& target) {
  Fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0)
    throw FileWriteError("wrote " + target.string() + " but could not flush its folder to disk (" + error_text() +
                         "); it may revert after a power cut");
}

// Creates the temporary file, lets `fill` write and flush it, and puts it in place of `target`;
// the temporary file is removed when any step before the rename fails.
void replace_file(const fs::path& target, const DurableWriteOptions& options,
                  const std::function<void(Temp& temp)>& fill) {
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  Temp temp = create_temp(folder, target, options.temp);
  try {
    if (options.temp == TempFile::OwnerOnlyUnique && ::fchmod(temp.fd.get(), S_IRUSR | S_IWUSR) != 0)
      throw FileWriteError("cannot set the mode of " + temp.path.string());
    fill(temp);
    if (options.before_rename) options.before_rename(temp.path);
    move_into_place(temp.path, target, options.if_exists);
  } catch (...) {
    ::unlink(temp.path.c_str());
    throw;
  }
  flush_folder(folder, target);
}

}  // namespace

void write_file_durably(const fs::path& target, std::span<const std::uint8_t> bytes,
                        const DurableWriteOptions& options) {
  replace_file(target, options, [&](Temp& temp) {
    write_all(temp.fd.get(), bytes, temp.path);
    flush_and_close(temp.fd, temp.path);
  });
}

void write_file_durably(const fs::path& target, const std::function<void(const fs::path& temp_file)>& write,
                        const DurableWriteOptions& options) {
  replace_file(target, options, [&](Temp& temp) {
    temp.fd.reset();
    write(temp.path);
    Fd written(::open(temp.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (written.get() < 0)
      throw FileWriteError("cannot reopen " + temp.path.string() + " to flush it to disk: " + error_text());
    flush_and_close(written, temp.path);
  });
}

}  // namespace tessera::sys
