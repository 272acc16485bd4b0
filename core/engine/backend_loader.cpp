// Choosing and loading the backend library (dlopen, RTLD_LOCAL: its libtorch stays its own).
#include "core/engine/backend_loader.h"

#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <dlfcn.h>

#include "core/sys/cuda_driver.h"

namespace tessera::engine {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::filesystem::path program_folder() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::current_path() : self.parent_path();
}

struct Loaded {
  BackendChoice choice;
  Backend* backend = nullptr;
};

// Opens one library and checks its entry; returns the backend or throws with the reason.
Backend* open_backend(const std::filesystem::path& file, const std::string& name) {
  void* library = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    throw std::runtime_error("the " + name + " backend " + file.string() + " does not load: " + (why ? why : "?"));
  }
  const auto entry_function = reinterpret_cast<TesseraBackendEntryFunction>(dlsym(library, TESSERA_BACKEND_ENTRY_SYMBOL));
  if (entry_function == nullptr)
    throw std::runtime_error(file.string() + " is not a Tessera backend (no " TESSERA_BACKEND_ENTRY_SYMBOL ")");
  const BackendEntry* entry = entry_function();
  if (entry == nullptr || !(entry->abi == this_backend_abi()))
    throw std::runtime_error("the " + name + " backend " + file.string() +
                             " was built from other sources than this program: reinstall or rebuild both");
  if (std::string(entry->name) != name)
    throw std::runtime_error(file.string() + " is the " + entry->name + " backend, not the " + name + " one");
  return entry->create();
}

std::string describe_gpus(const sys::CudaDriverProbe& probe) {
  std::string text = "the NVIDIA driver sees " + std::to_string(probe.gpus.size()) +
                     (probe.gpus.size() == 1 ? " GPU" : " GPUs");
  if (!probe.gpus.empty()) text += " (" + probe.gpus.front().name + ")";
  return text;
}

Loaded load_named(const std::string& name, const std::string& why, const std::vector<std::string>& available) {
  Loaded loaded;
  loaded.choice = {name, backend_file(backend_folder(), name), why, available};
  if (!std::filesystem::exists(loaded.choice.file))
    throw std::runtime_error("the " + name + " backend is not installed (no " + loaded.choice.file.string() +
                             "); installed here: " + (available.empty() ? std::string("none") : [&] {
                               std::string list;
                               for (const auto& a : available) list += (list.empty() ? "" : ", ") + a;
                               return list;
                             }()));
  loaded.backend = open_backend(loaded.choice.file, name);
  return loaded;
}

Loaded choose_and_load() {
  std::vector<std::string> available;
  for (const std::string name : {"cpu", "cuda"})
    if (std::filesystem::exists(backend_file(backend_folder(), name))) available.push_back(name);
  const auto has = [&](const std::string& name) {
    for (const auto& a : available)
      if (a == name) return true;
    return false;
  };
  const std::string asked = env("TESSERA_BACKEND");
  if (asked == "cpu" || asked == "cuda") return load_named(asked, "TESSERA_BACKEND=" + asked, available);
  if (!asked.empty() && asked != "auto")
    throw std::invalid_argument("TESSERA_BACKEND='" + asked + "' is not a backend: use cpu, cuda or auto");
  if (available.empty())
    throw std::runtime_error("no engine backend is installed in " + backend_folder().string() +
                             ": reinstall Tessera, or set TESSERA_BACKEND_DIR to the folder that holds one");

  const auto probe = sys::probe_cuda_driver();
  if (!probe.gpus.empty() && has("cuda")) {
    try {
      return load_named("cuda", describe_gpus(probe), available);
    } catch (const std::runtime_error& error) {
      if (!has("cpu")) throw;
      return load_named("cpu", describe_gpus(probe) + ", but the CUDA backend failed: " + error.what(), available);
    }
  }
  if (!probe.gpus.empty())
    return load_named("cpu", describe_gpus(probe) + ", but the CUDA backend is not installed (install tessera-cuda)",
                      available);
  const std::string no_gpu = probe.error.empty() ? "no NVIDIA GPU" : "no NVIDIA GPU: " + probe.error;
  if (has("cpu")) return load_named("cpu", no_gpu, available);
  return load_named("cuda", no_gpu + "; only the CUDA backend is installed (it runs on the CPU too)", available);
}

const Loaded& loaded() {
  static const Loaded instance = choose_and_load();
  return instance;
}

}  // namespace

std::filesystem::path backend_file(const std::filesystem::path& folder, const std::string& name) {
#if defined(__APPLE__)
  return folder / ("libtessera-backend-" + name + ".dylib");
#elif defined(_WIN32)
  return folder / ("tessera-backend-" + name + ".dll");
#else
  return folder / ("libtessera-backend-" + name + ".so");
#endif
}

std::filesystem::path backend_folder() {
  const std::string override_folder = env("TESSERA_BACKEND_DIR");
  if (!override_folder.empty()) return override_folder;
  return (program_folder() / ".." / "lib" / "tessera" / "backends").lexically_normal();
}

Backend& backend() { return *loaded().backend; }
const BackendChoice& backend_choice() { return loaded().choice; }

}  // namespace tessera::engine
