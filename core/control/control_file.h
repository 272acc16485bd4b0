// control.json in the node's data folder: where a running node's control API listens and the
// bearer token it wants, {"pid": N, "port": P, "token": "<64 hex>"}, written 0600 by the node and
// read by the desktop app (and by scripts). The token never passes through a std::string that
// outlives the call.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/wallet/secure_bytes.h"

namespace tessera::control {

inline constexpr const char* kControlFileName = "control.json";

struct ControlEndpoint {
  std::int64_t pid = 0;  // 0 when the file does not say
  int port = 0;
  wallet::SecureBytes token;  // 64 hex characters
};

// Writes the file atomically with mode 0600, replacing an older one.
void write_control_file(const std::filesystem::path& file, std::int64_t pid, int port, const wallet::SecureBytes& token);
// Throws std::runtime_error when the file is missing ("no control file yet") or malformed.
ControlEndpoint read_control_file(const std::filesystem::path& file);

}  // namespace tessera::control
