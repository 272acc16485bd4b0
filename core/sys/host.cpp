// Host probes: /proc and uname on Linux, sysconf and std::filesystem elsewhere.
#include "core/sys/host.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <fstream>
#include <system_error>
#include <thread>
#include <vector>

#include "core/sys/paths.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/utsname.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <link.h>
#endif

namespace tessera::sys {
namespace {

std::string trim(std::string text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

// Value of `key` in a "key: value" or key="value" file such as /proc/cpuinfo or /etc/os-release.
std::string read_key(const std::filesystem::path& file, const std::string& key, char separator) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto pos = line.find(separator);
    if (pos == std::string::npos || trim(line.substr(0, pos)) != key) continue;
    std::string value = trim(line.substr(pos + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

}  // namespace

std::string os_description() {
  std::string description;
#if defined(__linux__)
  description = read_key("/etc/os-release", "PRETTY_NAME", '=');
#endif
#if defined(__unix__) || defined(__APPLE__)
  utsname names{};
  if (uname(&names) == 0) {
    const std::string kernel = std::string(names.sysname) + " " + names.release + " " + names.machine;
    description = description.empty() ? kernel : description + ", " + kernel;
  }
#elif defined(_WIN32)
  description = "Windows";
#endif
  return description.empty() ? "unknown OS" : description;
}

CpuInfo cpu_info() {
  CpuInfo info;
  info.threads = std::max(1u, std::thread::hardware_concurrency());
#if defined(__linux__)
  info.model = read_key("/proc/cpuinfo", "model name", ':');
  if (info.model.empty()) info.model = read_key("/proc/cpuinfo", "Model", ':');  // Arm boards
#endif
  if (info.model.empty()) info.model = "unknown CPU";
  return info;
}

std::uint64_t total_ram_bytes() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0)
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
#endif
  return 0;
}

std::uint64_t disk_free_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  const auto space = std::filesystem::space(nearest_existing(path), ec);
  return ec ? 0 : static_cast<std::uint64_t>(space.available);
}

BlasInfo classify_blas_path(const std::string& resolved_path) {
  BlasInfo info;
  info.path = resolved_path;
  const auto has = [&](const char* needle) { return resolved_path.find(needle) != std::string::npos; };
  if (has("openblas-pthread")) info.name = "OpenBLAS (pthread)";
  else if (has("openblas-openmp")) info.name = "OpenBLAS (OpenMP)";
  else if (has("openblas-serial")) info.name = "OpenBLAS (serial)";
  else if (has("openblas")) info.name = "OpenBLAS";
  else if (has("mkl")) info.name = "MKL";
  else if (has("blis")) info.name = "BLIS";
  else if (has("atlas")) info.name = "ATLAS";
  else if (has("Accelerate")) info.name = "Apple Accelerate";
  else if (has("/blas/") || has("libblas.so")) {
    info.name = "reference BLAS";
    info.reference = true;
  } else info.name = "unknown";
  return info;
}

#if defined(__linux__)
namespace {
int collect_library(dl_phdr_info* info, size_t, void* data) {
  if (info->dlpi_name != nullptr && *info->dlpi_name != '\0')
    static_cast<std::vector<std::string>*>(data)->emplace_back(info->dlpi_name);
  return 0;
}
}  // namespace
#endif

BlasInfo loaded_blas() {
#if defined(__linux__)
  std::vector<std::string> libraries;
  dl_iterate_phdr(collect_library, &libraries);
  // libblas.so.3 is the interface libtorch links; its resolved target names the implementation.
  const auto pick = [&](const char* needle) -> std::optional<BlasInfo> {
    for (const auto& library : libraries) {
      if (std::filesystem::path(library).filename().string().find(needle) != 0) continue;
      std::error_code ec;
      const auto resolved = std::filesystem::canonical(library, ec);
      return classify_blas_path(ec ? library : resolved.string());
    }
    return std::nullopt;
  };
  for (const char* needle : {"libblas.so", "libopenblas", "libmkl_rt", "libblis"})
    if (auto found = pick(needle)) return *found;
#endif
  return BlasInfo{"unknown", "", false};
}

}  // namespace tessera::sys
