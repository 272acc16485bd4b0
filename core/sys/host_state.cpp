// Host probes for the power policy (see host_state.h).
#include "core/sys/host_state.h"

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <system_error>

#if defined(__linux__)
#include <dlfcn.h>
#elif defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#elif defined(__APPLE__)
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#include <IOKit/ps/IOPowerSources.h>
#include <IOKit/pwr_mgt/IOPMLib.h>
#endif

namespace tessera::sys {

namespace {

std::string read_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

#if defined(__linux__)
namespace {

// The few Xlib and XScreenSaver entry points, as the headers declare them.
struct XScreenSaverInfo {
  unsigned long window;
  int state;
  int kind;
  unsigned long til_or_since;
  unsigned long idle;  // milliseconds since the last input
  unsigned long event_mask;
};
using OpenDisplay = void* (*)(const char*);
using DefaultRootWindow = unsigned long (*)(void*);
using QueryExtension = int (*)(void*, int*, int*);
using AllocInfo = XScreenSaverInfo* (*)();
using QueryInfo = int (*)(void*, unsigned long, XScreenSaverInfo*);
using Free = int (*)(void*);

struct XIdle {
  XIdle() {
    if (std::getenv("DISPLAY") == nullptr) return;
    void* x11 = dlopen("libX11.so.6", RTLD_NOW | RTLD_LOCAL);
    void* xss = dlopen("libXss.so.1", RTLD_NOW | RTLD_LOCAL);
    if (x11 == nullptr || xss == nullptr) return;
    auto open_display = reinterpret_cast<OpenDisplay>(dlsym(x11, "XOpenDisplay"));
    root_window = reinterpret_cast<DefaultRootWindow>(dlsym(x11, "XDefaultRootWindow"));
    free = reinterpret_cast<Free>(dlsym(x11, "XFree"));
    auto query_extension = reinterpret_cast<QueryExtension>(dlsym(xss, "XScreenSaverQueryExtension"));
    alloc = reinterpret_cast<AllocInfo>(dlsym(xss, "XScreenSaverAllocInfo"));
    query = reinterpret_cast<QueryInfo>(dlsym(xss, "XScreenSaverQueryInfo"));
    if (!open_display || !root_window || !free || !query_extension || !alloc || !query) return;
    display = open_display(nullptr);
    if (display == nullptr) return;
    int event_base = 0, error_base = 0;
    if (query_extension(display, &event_base, &error_base) == 0) display = nullptr;
  }
  std::optional<double> idle_seconds() {
    std::lock_guard lock(mutex);
    if (display == nullptr) return std::nullopt;
    XScreenSaverInfo* info = alloc();
    if (info == nullptr) return std::nullopt;
    std::optional<double> seconds;
    if (query(display, root_window(display), info) != 0) seconds = static_cast<double>(info->idle) / 1000.0;
    free(info);
    return seconds;
  }
  std::mutex mutex;
  void* display = nullptr;
  DefaultRootWindow root_window = nullptr;
  Free free = nullptr;
  AllocInfo alloc = nullptr;
  QueryInfo query = nullptr;
};

}  // namespace

std::optional<double> input_idle_seconds() {
  // Wayland compositors do not answer XScreenSaver for native clients: unknown rather than wrong.
  if (std::getenv("WAYLAND_DISPLAY") != nullptr && std::getenv("DISPLAY") == nullptr) return std::nullopt;
  static XIdle idle;
  return idle.idle_seconds();
}
#elif defined(_WIN32)
std::optional<double> input_idle_seconds() {
  LASTINPUTINFO info{sizeof(LASTINPUTINFO), 0};
  if (!GetLastInputInfo(&info)) return std::nullopt;
  return static_cast<double>(GetTickCount() - info.dwTime) / 1000.0;  // DWORD arithmetic wraps right
}
#elif defined(__APPLE__)
std::optional<double> input_idle_seconds() {
  // The HID system's time since the last keyboard, mouse or trackpad event, in nanoseconds.
#if defined(__MAC_OS_X_VERSION_MIN_REQUIRED) && __MAC_OS_X_VERSION_MIN_REQUIRED >= 120000
  const mach_port_t main_port = kIOMainPortDefault;
#else
  const mach_port_t main_port = kIOMasterPortDefault;  // renamed kIOMainPortDefault in macOS 12
#endif
  // IOServiceGetMatchingService consumes the matching dictionary.
  const io_service_t service = IOServiceGetMatchingService(main_port, IOServiceMatching("IOHIDSystem"));
  if (service == IO_OBJECT_NULL) return std::nullopt;
  const CFTypeRef property = IORegistryEntryCreateCFProperty(service, CFSTR("HIDIdleTime"), kCFAllocatorDefault, 0);
  IOObjectRelease(service);
  if (property == nullptr) return std::nullopt;
  std::optional<double> seconds;
  SInt64 nanoseconds = 0;
  if (CFGetTypeID(property) == CFNumberGetTypeID()) {
    if (CFNumberGetValue(static_cast<CFNumberRef>(property), kCFNumberSInt64Type, &nanoseconds))
      seconds = static_cast<double>(nanoseconds) / 1e9;
  } else if (CFGetTypeID(property) == CFDataGetTypeID() &&
             CFDataGetLength(static_cast<CFDataRef>(property)) == static_cast<CFIndex>(sizeof(nanoseconds))) {
    // Some older systems publish the counter as 8 raw bytes.
    CFDataGetBytes(static_cast<CFDataRef>(property), CFRangeMake(0, sizeof(nanoseconds)),
                   reinterpret_cast<UInt8*>(&nanoseconds));
    seconds = static_cast<double>(nanoseconds) / 1e9;
  }
  CFRelease(property);
  return seconds;
}
#else
std::optional<double> input_idle_seconds() { return std::nullopt; }
#endif

#if defined(_WIN32)
std::optional<bool> on_battery() {
  SYSTEM_POWER_STATUS status{};
  if (!GetSystemPowerStatus(&status)) return std::nullopt;
  if (status.ACLineStatus == 1) return false;  // on mains (charging or not, or no battery at all)
  if (status.ACLineStatus == 0) return true;   // mains offline: the battery (or a UPS) powers it
  return std::nullopt;                         // 255: unknown
}
#elif defined(__APPLE__)
std::optional<bool> on_battery() {
  // "AC Power", "Battery Power" or "UPS Power": the source the machine draws from right now.
  const CFTypeRef info = IOPSCopyPowerSourcesInfo();
  if (info == nullptr) return std::nullopt;
  std::optional<bool> battery;
  if (const CFStringRef type = IOPSGetProvidingPowerSourceType(info); type != nullptr) {  // not owned
    battery = CFStringCompare(type, CFSTR(kIOPMBatteryPowerKey), 0) == kCFCompareEqualTo ||
              CFStringCompare(type, CFSTR(kIOPMUPSPowerKey), 0) == kCFCompareEqualTo;
  }
  CFRelease(info);
  return battery;
}
#else
std::optional<bool> on_battery() { return on_battery("/sys/class/power_supply"); }
#endif

std::optional<bool> on_battery(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return std::nullopt;
  bool any_battery = false, discharging = false, mains_online = false;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string type = read_line(entry.path() / "type");
    if (type == "Mains" || type == "USB") {
      if (read_line(entry.path() / "online") == "1") mains_online = true;
    } else if (type == "Battery") {
      any_battery = true;
      if (read_line(entry.path() / "status") == "Discharging") discharging = true;
    }
  }
  if (mains_online) return false;
  if (!any_battery) return std::nullopt;
  return discharging;
}

struct Nvml::Impl {
  using Return = int;
  using Device = void*;
  struct Utilization {
    unsigned gpu;
    unsigned memory;
  };
  std::string error;
  bool ok = false;
  Return (*get_handle)(unsigned, Device*) = nullptr;
  Return (*get_temperature)(Device, int, unsigned*) = nullptr;
  Return (*get_power)(Device, unsigned*) = nullptr;
  Return (*get_utilization)(Device, Utilization*) = nullptr;
  mutable std::mutex mutex;
};

namespace {

#if defined(__linux__)
using NvmlLibrary = void*;

NvmlLibrary open_nvml() { return dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL); }

template <typename Function>
Function nvml_symbol(NvmlLibrary library, const char* name) {
  return reinterpret_cast<Function>(dlsym(library, name));
}

constexpr const char* kNvmlMissing =
    "no NVIDIA driver (libnvidia-ml.so.1 not found): GPU temperature and power unknown";
#elif defined(_WIN32)
using NvmlLibrary = HMODULE;

// nvml.dll by full path only (never the DLL search path, which the current folder can hijack):
// System32, where current drivers install it, then the NVSMI folder of older drivers.
NvmlLibrary open_nvml() {
  std::wstring candidates[2];
  wchar_t buffer[MAX_PATH];
  if (const UINT n = GetSystemDirectoryW(buffer, MAX_PATH); n > 0 && n < MAX_PATH)
    candidates[0] = std::wstring(buffer, n) + L"\\nvml.dll";
  if (const DWORD n = ExpandEnvironmentStringsW(L"%ProgramFiles%\\NVIDIA Corporation\\NVSMI\\nvml.dll", buffer, MAX_PATH);
      n > 0 && n <= MAX_PATH)
    candidates[1] = buffer;
  for (const auto& path : candidates) {
    if (path.empty()) continue;
    // LOAD_WITH_ALTERED_SEARCH_PATH: nvml.dll's own dependencies resolve from its folder.
    if (const HMODULE library = LoadLibraryExW(path.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH)) return library;
  }
  return nullptr;
}

template <typename Function>
Function nvml_symbol(NvmlLibrary library, const char* name) {
  return reinterpret_cast<Function>(reinterpret_cast<void*>(GetProcAddress(library, name)));
}

constexpr const char* kNvmlMissing =
    "no NVIDIA driver (nvml.dll not found in System32 or NVIDIA Corporation\\NVSMI): GPU temperature and "
    "power unknown";
#endif

}  // namespace

Nvml::Nvml() : impl_(std::make_unique<Impl>()) {
#if defined(__linux__) || defined(_WIN32)
  const NvmlLibrary library = open_nvml();
  if (library == nullptr) {
    impl_->error = kNvmlMissing;
    return;
  }
  auto init = nvml_symbol<Impl::Return (*)()>(library, "nvmlInit_v2");
  impl_->get_handle = nvml_symbol<decltype(impl_->get_handle)>(library, "nvmlDeviceGetHandleByIndex_v2");
  impl_->get_temperature = nvml_symbol<decltype(impl_->get_temperature)>(library, "nvmlDeviceGetTemperature");
  impl_->get_power = nvml_symbol<decltype(impl_->get_power)>(library, "nvmlDeviceGetPowerUsage");
  impl_->get_utilization = nvml_symbol<decltype(impl_->get_utilization)>(library, "nvmlDeviceGetUtilizationRates");
  if (!init || !impl_->get_handle || !impl_->get_temperature || !impl_->get_power || !impl_->get_utilization) {
    impl_->error = "the NVIDIA management library lacks the expected functions (driver too old?)";
    return;
  }
  if (const auto result = init(); result != 0) {
    impl_->error = "NVML failed to initialise (error " + std::to_string(result) + ")";
    return;
  }
  impl_->ok = true;
#elif defined(__APPLE__)
  impl_->error = "NVIDIA GPUs are not supported on macOS: GPU temperature and power unknown";
#else
  impl_->error = "NVML is read on Linux and Windows only: GPU temperature and power unknown";
#endif
}

Nvml::~Nvml() = default;  // nvmlShutdown is not called: other users in the process may share it

bool Nvml::available() const { return impl_->ok; }
const std::string& Nvml::error() const { return impl_->error; }

GpuReadings Nvml::read(unsigned device_index) const {
  GpuReadings readings;
  if (!impl_->ok) return readings;
  std::lock_guard lock(impl_->mutex);
  Impl::Device device = nullptr;
  if (impl_->get_handle(device_index, &device) != 0) return readings;
  unsigned value = 0;
  if (impl_->get_temperature(device, /*NVML_TEMPERATURE_GPU=*/0, &value) == 0) readings.temperature_c = value;
  if (impl_->get_power(device, &value) == 0) readings.power_w = value / 1000.0;  // milliwatts
  Impl::Utilization utilization{};
  if (impl_->get_utilization(device, &utilization) == 0) readings.utilization = utilization.gpu / 100.0;
  return readings;
}

}  // namespace tessera::sys
