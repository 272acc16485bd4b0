// Which backend this process uses, and loading it: once per process, on first use (the first Stage,
// trainer or probe). The choice, in order:
//   - TESSERA_BACKEND=cpu|cuda names one (what `tessera-node --backend` sets); auto or unset chooses:
//   - "cuda" when the NVIDIA driver reports a GPU, supports the backend's CUDA version, and the CUDA
//     backend is installed (and loads),
//   - else "cpu"; "cuda" also when it is the only one installed (it runs on the CPU too).
// Backends are looked for in TESSERA_BACKEND_DIR when set, else in <program dir>/../lib/tessera/backends
// (the build tree and the installed layout alike).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/engine/backend.h"

namespace tessera::engine {

struct BackendChoice {
  std::string name;              // "cpu" or "cuda"
  std::filesystem::path file;    // the library loaded
  std::string why;               // one line: why this one ("the NVIDIA driver sees 1 GPU: …")
  std::vector<std::string> available;  // the backends installed, by name
};

// The library file of backend `name` in `folder`: libtessera-backend-<name>.so (.dylib, .dll).
std::filesystem::path backend_file(const std::filesystem::path& folder, const std::string& name);
// Where backends are looked for (see above).
std::filesystem::path backend_folder();

// Loads the backend on first call and returns it. Throws std::runtime_error saying what is wrong
// (none installed, the one named missing or not loadable, built from other sources) and what to do,
// and std::invalid_argument for a TESSERA_BACKEND that names no backend.
Backend& backend();
// The choice backend() made (loads it if it has not).
const BackendChoice& backend_choice();

}  // namespace tessera::engine
