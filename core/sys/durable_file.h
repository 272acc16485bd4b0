// Replacing a file so that a crash or a power cut leaves either the old file or the new one, never
// a mix: the new content goes to a temporary file in the same folder, is flushed to disk, renamed
// over the target, and the folder is flushed too so that the rename itself survives. Key files
// (core/wallet) and engine checkpoints are written this way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>

namespace tessera::sys {

// A durable write failed; the message names the file and the system's reason.
class FileWriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The target exists and the write was asked to keep it (IfExists::Keep).
class FileAlreadyExists : public FileWriteError {
 public:
  using FileWriteError::FileWriteError;
};

// What happens when the target exists: Replace it atomically, or Keep it and fail (decided
// atomically, so two processes creating the same file cannot both think they did).
enum class IfExists { Replace, Keep };

// The temporary file, which decides who can read the result and what a crash leaves behind.
enum class TempFile {
  // For secrets: a fresh ".<name>.tmp-XXXXXX" created exclusively with mode 0600, so nothing
  // planted at a predictable name is ever written through. A crash leaves it behind, never read.
  OwnerOnlyUnique,
  // For ordinary data: "<name>.tmp" with the mode any new file gets (0666 less the umask). A
  // crash's leftover, possibly large, is overwritten by the next write instead of piling up.
  SharedFixed,
};

struct DurableWriteOptions {
  TempFile temp = TempFile::OwnerOnlyUnique;
  IfExists if_exists = IfExists::Replace;
  // Tests only: runs after the temp file is complete and synced, just before the rename.
  std::function<void(const std::filesystem::path& temp_file)> before_rename;
};

// Writes `bytes` as the new content of `target`. Throws FileWriteError naming the file on failure
// (the old file is then untouched), and FileAlreadyExists when `if_exists` is Keep and it exists.
void write_file_durably(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                        const DurableWriteOptions& options = {});

// The same for content that a library writes to a path itself (a torch archive): `write` fills
// the temporary file at the path it is given, in place. Exceptions from `write` pass through
// unchanged, after the temporary file is removed.
void write_file_durably(const std::filesystem::path& target,
                        const std::function<void(const std::filesystem::path& temp_file)>& write,
                        const DurableWriteOptions& options = {});

}  // namespace tessera::sys
