// Host probes for the power policy (core/control/power_policy.h): seconds since the last keyboard or
// mouse input, whether the machine runs on battery, and the GPU's temperature, power draw and
// utilisation through NVML. On Linux and Windows every optional library is loaded at run time
// (libXss/libX11, libnvidia-ml / nvml.dll), so nothing is needed to build and a headless box,
// Wayland or a machine without an NVIDIA driver simply reads "unknown" (an empty optional). macOS
// uses IOKit, which every Mac has (linked as a framework).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace tessera::sys {

// X11 (XScreenSaver extension) on Linux, GetLastInputInfo on Windows, IOHIDSystem's HIDIdleTime
// on macOS. Empty without a display or on Wayland, where no portable query exists.
std::optional<double> input_idle_seconds();

// Whether the machine runs on battery now: the power supplies in /sys/class/power_supply on Linux,
// GetSystemPowerStatus's AC line status on Windows, the providing power source on macOS ("Battery
// Power" or "UPS Power" count as battery). Empty when the system cannot tell.
std::optional<bool> on_battery();

// The Linux reading from the power supplies under `root` (the sysfs layout): true when a battery
// discharges and no mains supply is online; false on mains; empty when the machine has no battery
// information (a desktop reads false: any online mains supply decides).
std::optional<bool> on_battery(const std::filesystem::path& root);

struct GpuReadings {
  std::optional<double> temperature_c;
  std::optional<double> power_w;
  std::optional<double> utilization;  // 0..1
};

// NVML loaded at run time: dlopen("libnvidia-ml.so.1") on Linux; on Windows nvml.dll from System32
// or %ProgramFiles%\NVIDIA Corporation\NVSMI (full paths only). Loaded once, kept for the
// process's life (unloading a driver library is unsafe). Absent on macOS. Thread-safe.
class Nvml {
 public:
  Nvml();  // never throws: available() says whether it loaded
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  bool available() const;
  const std::string& error() const;  // why not, in words
  GpuReadings read(unsigned device_index = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::sys
