// Host probes for the power policy (see host_state.h).
#include "core/sys/host_state.h"

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <system_error>

#if defined(__linux__)
#include <dlfcn.h>
#endif
#if defined(_WIN32)
#include <windows.h>
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
  return static_cast<double>(GetTickCount() - info.dwTime) / 1000.0;
}
#else
// macOS: IOHIDSystem's HIDIdleTime needs IOKit, which this build does not link yet.
std::optional<double> input_idle_seconds() { return std::nullopt; }
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

Nvml::Nvml() : impl_(std::make_unique<Impl>()) {
#if defined(__linux__)
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    impl_->error = "no NVIDIA driver (libnvidia-ml.so.1 not found): GPU temperature and power unknown";
    return;
  }
  auto init = reinterpret_cast<Impl::Return (*)()>(dlsym(library, "nvmlInit_v2"));
  impl_->get_handle = reinterpret_cast<decltype(impl_->get_handle)>(dlsym(library, "nvmlDeviceGetHandleByIndex_v2"));
  impl_->get_temperature = reinterpret_cast<decltype(impl_->get_temperature)>(dlsym(library, "nvmlDeviceGetTemperature"));
  impl_->get_power = reinterpret_cast<decltype(impl_->get_power)>(dlsym(library, "nvmlDeviceGetPowerUsage"));
  impl_->get_utilization =
      reinterpret_cast<decltype(impl_->get_utilization)>(dlsym(library, "nvmlDeviceGetUtilizationRates"));
  if (!init || !impl_->get_handle || !impl_->get_temperature || !impl_->get_power || !impl_->get_utilization) {
    impl_->error = "the NVIDIA management library lacks the expected functions (driver too old?)";
    return;
  }
  if (const auto result = init(); result != 0) {
    impl_->error = "NVML failed to initialise (error " + std::to_string(result) + ")";
    return;
  }
  impl_->ok = true;
#else
  impl_->error = "NVML is read on Linux only in this build";
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
