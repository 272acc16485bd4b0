// nat_map_probe: one PortMapper in a process of its own, so a test can run it inside a network
// namespace (`ip netns exec <home> nat_map_probe …`; libnatpmp reads the default route from
// /proc/net/route, which follows the process's namespace, not a thread's).
//
//   nat_map_probe --port P [--lease S] [--timeout-ms N] [--no-upnp] [--no-natpmp]
//                 [--allow-reserved|--refuse-reserved]    (PortMapperOptions::allow_reserved_external_address)
//
// Maps TCP port P and prints one JSON line (a MappingReport); then prints another line for each
// "current" line read on stdin; when stdin closes it removes the mapping, prints {"removed":true}
// and exits. Logs go to stderr.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/nat/port_mapper.h"

namespace {

using tessera::nat::Mapping;
using tessera::nat::PortMapper;
using tessera::nat::PortMapperOptions;

nlohmann::json report(const PortMapper& mapper) {
  const std::optional<Mapping> mapping = mapper.current();
  if (!mapping) return {{"mapped", false}, {"error", mapper.last_error()}};
  return {{"mapped", true},
          {"protocol", std::string(tessera::nat::to_string(mapping->protocol))},
          {"external_address", mapping->external_address},
          {"external_port", mapping->external_port},
          {"internal_address", mapping->internal_address},
          {"internal_port", mapping->internal_port},
          {"lifetime", mapping->lifetime.count()}};
}

int usage() {
  std::cerr << "usage: nat_map_probe --port P [--lease S] [--timeout-ms N] [--no-upnp] [--no-natpmp]\n"
               "                     [--allow-reserved|--refuse-reserved]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("nat_map_probe"));
  long port = 0;
  PortMapperOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--port" && has_value) port = std::strtol(argv[++i], nullptr, 10);
    else if (arg == "--lease" && has_value) options.lease = std::chrono::seconds{std::strtol(argv[++i], nullptr, 10)};
    else if (arg == "--timeout-ms" && has_value)
      options.discover_timeout = std::chrono::milliseconds{std::strtol(argv[++i], nullptr, 10)};
    else if (arg == "--no-upnp") options.try_upnp = false;
    else if (arg == "--no-natpmp") options.try_natpmp = false;
    else if (arg == "--allow-reserved") options.allow_reserved_external_address = true;
    else if (arg == "--refuse-reserved") options.allow_reserved_external_address = false;
    else return usage();
  }
  if (port <= 0 || port > 65535) return usage();

  {
    PortMapper mapper(static_cast<std::uint16_t>(port), options);
    mapper.map();
    std::cout << report(mapper).dump() << std::endl;
    for (std::string line; std::getline(std::cin, line);)
      if (line == "current") std::cout << report(mapper).dump() << std::endl;
  }
  std::cout << nlohmann::json{{"removed", true}}.dump() << std::endl;
  return 0;
}
