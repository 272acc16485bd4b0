// Where Tessera keeps its data: the platform's standard per-user folder, or an explicit override.
#pragma once

#include <filesystem>
#include <optional>

namespace tessera::sys {

// The platform default: $XDG_DATA_HOME/tessera or ~/.local/share/tessera on Linux,
// ~/Library/Application Support/Tessera on macOS, %LOCALAPPDATA%\Tessera on Windows.
// Throws std::runtime_error when no home folder can be found.
std::filesystem::path default_data_dir();

// The override when given (made absolute), else default_data_dir().
std::filesystem::path resolve_data_dir(const std::optional<std::filesystem::path>& override_dir);

// Creates the folder (and parents) with owner-only permissions if missing. Throws
// std::runtime_error naming the folder when it cannot be created or is not a folder.
void ensure_data_dir(const std::filesystem::path& dir);

// The nearest existing ancestor of `path` (itself if it exists): where free space is measured.
std::filesystem::path nearest_existing(const std::filesystem::path& path);

}  // namespace tessera::sys
