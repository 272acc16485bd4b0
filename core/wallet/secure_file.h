// Files that hold keys: atomic replacement (temp file in the same folder, fsync, rename, fsync of
// the folder: a crash leaves either the old file or the new one, never a mix), owner-only mode,
// secret reads straight into SecureBytes, and a warning when a key file is readable by others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "core/sys/durable_file.h"
#include "core/wallet/secure_bytes.h"

namespace tessera::wallet {

struct AtomicWriteHooks {
  // Tests only: runs after the temp file is complete and synced, just before the rename.
  std::function<void(const std::filesystem::path& temp_file)> before_rename;
};

// What happens when the target exists: Replace it atomically, or Keep it and fail (decided
// atomically, so two processes creating the same key file cannot both think they did).
using IfExists = sys::IfExists;

// Writes `bytes` to `target` with mode 0600, atomically (sys::write_file_durably). Throws WalletError naming the file on
// failure (the old file is then untouched), and FileExists when `if_exists` is Keep and it exists.
void write_file_atomic(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                       const AtomicWriteHooks& hooks = {}, IfExists if_exists = IfExists::Replace);

// The whole file in secure memory; throws WalletError if missing, unreadable or over `max_bytes`.
SecureBytes read_file_secure(const std::filesystem::path& file, std::size_t max_bytes);
// The same for a file holding nothing secret in clear (an encrypted keystore, a message).
std::string read_file_text(const std::filesystem::path& file, std::size_t max_bytes);

// True when group or others have any access to `file`; then logs a warning (spdlog) that names the
// file and the command that fixes it.
bool warn_if_permissions_too_open(const std::filesystem::path& file);

}  // namespace tessera::wallet
