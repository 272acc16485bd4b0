// Per-user data folder resolution (XDG on Linux, the platform's standard place elsewhere).
#include "core/sys/paths.h"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tessera::sys {
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> env_path(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return fs::path(value);
}

fs::path home_dir() {
#ifdef _WIN32
  if (auto profile = env_path("USERPROFILE")) return *profile;
#endif
  if (auto home = env_path("HOME")) return *home;
  throw std::runtime_error("cannot find your home folder (HOME is not set); pass --data-dir PATH");
}

}  // namespace

fs::path default_data_dir() {
#if defined(_WIN32)
  if (auto local = env_path("LOCALAPPDATA")) return *local / "Tessera";
  return home_dir() / "AppData" / "Local" / "Tessera";
#elif defined(__APPLE__)
  return home_dir() / "Library" / "Application Support" / "Tessera";
#else
  // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
  if (auto xdg = env_path("XDG_DATA_HOME"); xdg && xdg->is_absolute()) return *xdg / "tessera";
  return home_dir() / ".local" / "share" / "tessera";
#endif
}

fs::path resolve_data_dir(const std::optional<fs::path>& override_dir) {
  if (override_dir && !override_dir->empty()) return fs::absolute(*override_dir).lexically_normal();
  return default_data_dir();
}

void ensure_data_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      throw std::runtime_error("data folder " + dir.string() + " exists but is not a folder");
    return;
  }
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create data folder " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
}

fs::path nearest_existing(const fs::path& path) {
  fs::path current = fs::absolute(path);
  std::error_code ec;
  while (!fs::exists(current, ec) && current.has_parent_path() && current != current.parent_path())
    current = current.parent_path();
  return current;
}

}  // namespace tessera::sys
