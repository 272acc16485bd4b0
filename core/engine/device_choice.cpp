// Choosing a device from what the backend reports: plain logic, no backend call (the backends use it
// too).
#include "core/engine/device_probe.h"

#include <stdexcept>

namespace tessera::engine {

std::string DeviceChoice::label() const { return cuda ? "cuda:" + std::to_string(index) : "cpu"; }

DeviceChoice parse_device(const std::string& text, const TorchInfo& info) {
  DeviceChoice choice;
  if (text == "cpu") return choice;
  if (text.rfind("cuda", 0) != 0)
    throw std::invalid_argument("unknown device '" + text + "': use cpu, cuda or cuda:N");
  choice.cuda = true;
  if (text.size() > 4) {
    if (text[4] != ':' || text.size() == 5)
      throw std::invalid_argument("unknown device '" + text + "': use cpu, cuda or cuda:N");
    try {
      size_t used = 0;
      choice.index = std::stoi(text.substr(5), &used);
      if (used != text.size() - 5 || choice.index < 0) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      throw std::invalid_argument("unknown device '" + text + "': use cpu, cuda or cuda:N");
    }
  }
  if (!info.cuda_available)
    throw std::runtime_error("CUDA was asked for (" + text + ") but the " + info.backend +
                             " backend's libtorch sees no CUDA device");
  if (choice.index >= info.cuda_device_count)
    throw std::runtime_error("no CUDA device " + std::to_string(choice.index) + ": libtorch sees " +
                             std::to_string(info.cuda_device_count));
  return choice;
}

DeviceChoice default_device(const TorchInfo& info) {
  DeviceChoice choice;
  choice.cuda = info.cuda_available && info.cuda_device_count > 0;
  return choice;
}

}  // namespace tessera::engine
