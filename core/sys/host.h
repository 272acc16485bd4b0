// Host probes that need no libtorch: operating system, CPU, memory, disk, the BLAS library loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tessera::sys {

struct CpuInfo {
  std::string model;     // e.g. "AMD EPYC 7B13"; "unknown CPU" when the OS does not say
  unsigned threads = 0;  // hardware threads available to this process
};

std::string os_description();  // e.g. "Debian GNU/Linux 12 (bookworm), Linux 6.1.0 x86_64"
CpuInfo cpu_info();
std::uint64_t total_ram_bytes();  // 0 when unknown
// Free bytes for an unprivileged user on the file system holding `path` (or its nearest existing
// ancestor); 0 when it cannot be measured.
std::uint64_t disk_free_bytes(const std::filesystem::path& path);

struct BlasInfo {
  std::string name;  // "OpenBLAS (pthread)", "reference BLAS", "MKL", ... or "unknown"
  std::string path;  // resolved file of the loaded library, empty when none was found
  bool reference = false;  // the slow netlib reference implementation
};

// The BLAS shared library loaded into this process (libtorch pulls it in through libblas.so.3,
// which Debian's alternatives point at the installed implementation).
BlasInfo loaded_blas();
// Classifies a library path such as /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3.
BlasInfo classify_blas_path(const std::string& resolved_path);

}  // namespace tessera::sys
