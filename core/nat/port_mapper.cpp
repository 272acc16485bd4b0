// PortMapper: which protocol is tried when, the renewal thread, and removal. The protocols
// themselves live in upnp_igd_client.cpp and nat_pmp_client.cpp behind MappingClient.
#include "core/nat/port_mapper.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/nat/mapping_client.h"

namespace tessera::nat {
namespace {

std::string describe(const Mapping& mapping) {
  const std::string lease =
      mapping.lifetime.count() == 0 ? std::string("permanent") : fmt::format("lease {} s", mapping.lifetime.count());
  return fmt::format("{} router forwards {}:{} to {}:{} (TCP, {})", to_string(mapping.protocol),
                     mapping.external_address, mapping.external_port, mapping.internal_address,
                     mapping.internal_port, lease);
}

std::unique_ptr<MappingClient> open_client(MappingProtocol protocol, const PortMapperOptions& options) {
  return protocol == MappingProtocol::upnp_igd ? discover_upnp_igd(options) : open_nat_pmp(options);
}

}  // namespace

std::string_view to_string(MappingProtocol protocol) {
  return protocol == MappingProtocol::upnp_igd ? "UPnP-IGD" : "NAT-PMP";
}

PortMapper::PortMapper(std::uint16_t internal_port, PortMapperOptions options)
    : internal_port_(internal_port), options_(std::move(options)) {}

PortMapper::~PortMapper() { remove(); }

std::optional<Mapping> PortMapper::map() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (auto held = current()) return held;
  stop_renewer();  // one still retrying a failed renewal gives way to a fresh attempt

  std::vector<MappingProtocol> order;
  if (options_.try_upnp) order.push_back(MappingProtocol::upnp_igd);
  if (options_.try_natpmp) order.push_back(MappingProtocol::nat_pmp);
  std::string failures;
  for (const MappingProtocol protocol : order) {
    try {
      auto client = open_client(protocol, options_);
      Mapping mapping = client->add(internal_port_, internal_port_, options_.lease);
      client_ = std::move(client);
      {
        std::lock_guard state(state_mutex_);
        mapping_ = mapping;
        granted_ = mapping;
        last_error_.clear();
        stopping_ = false;
        renewer_ = std::thread([this] { renew_loop(); });
      }
      if (failures.empty()) spdlog::info("port mapping: {}", describe(mapping));
      else spdlog::info("port mapping: {} ({})", describe(mapping), failures);
      return mapping;
    } catch (const MappingError& error) {
      failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ", to_string(protocol), error.what());
    }
  }
  if (order.empty()) failures = "port mapping is switched off (neither UPnP-IGD nor NAT-PMP is allowed)";
  spdlog::warn("port mapping of TCP port {} failed: {}", internal_port_, failures);
  set_failure(std::move(failures));
  return std::nullopt;
}

std::optional<Mapping> PortMapper::current() const {
  std::lock_guard state(state_mutex_);
  return mapping_;
}

std::string PortMapper::last_error() const {
  std::lock_guard state(state_mutex_);
  return last_error_;
}

void PortMapper::remove() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  stop_renewer();
  std::optional<Mapping> granted;
  {
    std::lock_guard state(state_mutex_);
    mapping_.reset();
    granted = std::exchange(granted_, std::nullopt);
  }
  if (client_ && granted) {
    try {
      client_->remove(*granted);
      spdlog::info("port mapping: removed {}:{} -> {}:{} ({})", granted->external_address, granted->external_port,
                   granted->internal_address, granted->internal_port, to_string(granted->protocol));
    } catch (const MappingError& error) {
      spdlog::warn("port mapping: {} (it expires by itself when its lease ends)", error.what());
    }
  }
  client_.reset();
}

void PortMapper::stop_renewer() {
  std::thread renewer;
  {
    std::lock_guard state(state_mutex_);
    stopping_ = true;
    renewer = std::move(renewer_);
  }
  stop_signal_.notify_all();
  if (renewer.joinable()) renewer.join();
}

// Renews at half the granted lifetime; after a failure keeps trying at the same pace, so a router
// that was briefly away gets the mapping back.
void PortMapper::renew_loop() {
  std::unique_lock state(state_mutex_);
  while (!stop_signal_.wait_for(state, renew_interval(), [this] { return stopping_; })) {
    state.unlock();
    const bool holding = renew_once();
    state.lock();
    if (!holding) break;
  }
}

// False when there is nothing to renew. Runs only while map() and remove() wait for it to stop,
// so client_ is this thread's alone.
bool PortMapper::renew_once() {
  std::optional<Mapping> target;
  {
    std::lock_guard state(state_mutex_);
    if (stopping_) return true;
    target = granted_;
  }
  if (!client_ || !target) return false;
  try {
    const Mapping renewed = client_->add(target->internal_port, target->external_port, options_.lease);
    if (renewed.external_port != target->external_port || renewed.external_address != target->external_address)
      spdlog::info("port mapping moved: {}", describe(renewed));
    std::lock_guard state(state_mutex_);
    mapping_ = renewed;
    granted_ = renewed;
    last_error_.clear();
  } catch (const MappingError& error) {
    std::string failure = fmt::format("renewing the {} mapping of TCP port {} failed: {}", to_string(target->protocol),
                                      target->external_port, error.what());
    spdlog::warn("port mapping: {}", failure);
    set_failure(std::move(failure));
  }
  return true;
}

void PortMapper::set_failure(std::string error) {
  std::lock_guard state(state_mutex_);
  mapping_.reset();
  last_error_ = std::move(error);
}

// Called with state_mutex_ held. Half the lifetime the router granted (half the asked-for lease
// for a permanent UPnP mapping, so a router that rebooted and forgot it gets it back), at least 1 s.
std::chrono::seconds PortMapper::renew_interval() const {
  const std::chrono::seconds lifetime =
      granted_ && granted_->lifetime.count() > 0 ? granted_->lifetime : options_.lease;
  return std::max(std::chrono::seconds{1}, lifetime / 2);
}

}  // namespace tessera::nat
