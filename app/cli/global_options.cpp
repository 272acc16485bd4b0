// Shared command-line options.
#include "app/cli/global_options.h"

#include <CLI/CLI.hpp>

#include "core/sys/paths.h"
#include "tessera/version.h"

namespace tessera::cli {

std::filesystem::path GlobalOptions::resolved_data_dir() const { return sys::resolve_data_dir(data_dir); }

void add_global_options(CLI::App& app, GlobalOptions& options, const std::string& program) {
  app.set_version_flag("--version", program + " " + kVersion);
  app.add_option("--data-dir", options.data_dir,
                 "Folder for keys, the contribution log and settings (default: the platform's "
                 "per-user data folder, ~/.local/share/tessera on Linux)");
}

}  // namespace tessera::cli
