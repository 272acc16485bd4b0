// Options every tessera-node / tessera-hub command shares (--data-dir), and how they resolve.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace tessera::cli {

struct GlobalOptions {
  std::optional<std::filesystem::path> data_dir;  // --data-dir; else the platform default

  std::filesystem::path resolved_data_dir() const;
};

// Adds --version and --data-dir to the top-level app.
void add_global_options(CLI::App& app, GlobalOptions& options, const std::string& program);

}  // namespace tessera::cli
