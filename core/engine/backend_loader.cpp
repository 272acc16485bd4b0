// Choosing and loading the backend library (dlopen with RTLD_LOCAL, so its libtorch stays its own;
// LoadLibrary on Windows).
#include "core/engine/backend_loader.h"

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif
#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

#include "core/sys/cuda_driver.h"

namespace tessera::engine {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::filesystem::path program_folder() {
#if defined(_WIN32)
  wchar_t path[32768];
  const DWORD length = GetModuleFileNameW(nullptr, path, 32768);
  if (length > 0 && length < 32768) return std::filesystem::path(path).parent_path();
#elif defined(__APPLE__)
  char path[4096];
  std::uint32_t size = sizeof path;
  if (_NSGetExecutablePath(path, &size) == 0) return std::filesystem::weakly_canonical(path).parent_path();
#else
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) return self.parent_path();
#endif
  return std::filesystem::current_path();
}

// The library's entry point, or an exception saying why it cannot be opened.
TesseraBackendEntryFunction open_entry(const std::filesystem::path& file, const std::string& name) {
#if defined(_WIN32)
  HMODULE library = LoadLibraryExW(file.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
  if (library == nullptr)
    throw std::runtime_error("the " + name + " backend " + file.string() + " does not load (error " +
                             std::to_string(GetLastError()) + ")");
  return reinterpret_cast<TesseraBackendEntryFunction>(GetProcAddress(library, TESSERA_BACKEND_ENTRY_SYMBOL));
#else
  void* library = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    throw std::runtime_error("the " + name + " backend " + file.string() + " does not load: " + (why ? why : "?"));
  }
  return reinterpret_cast<TesseraBackendEntryFunction>(dlsym(library, TESSERA_BACKEND_ENTRY_SYMBOL));
#endif
}

struct Loaded {
  BackendChoice choice;
  Backend* backend = nullptr;
};

// Opens one library and checks its entry; returns the backend or throws with the reason.
Backend* open_backend(const std::filesystem::path& file, const std::string& name) {
  const auto entry_function = open_entry(file, name);
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

[[maybe_unused]] std::string cuda_version(int version) {  // 13000 -> "13.0" (unused without the CUDA backend)
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
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
#ifdef TESSERA_CUDA_DRIVER_MIN
  if (!probe.gpus.empty() && has("cuda") && probe.driver_version < TESSERA_CUDA_DRIVER_MIN)
    return load_named("cpu",
                      describe_gpus(probe) + ", but its driver supports CUDA " + cuda_version(probe.driver_version) +
                          " and the CUDA backend needs " + cuda_version(TESSERA_CUDA_DRIVER_MIN) +
                          ": update the NVIDIA driver",
                      available);
#endif
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
