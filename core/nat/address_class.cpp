#include "core/nat/address_class.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>

namespace tessera::nat {
namespace {

struct Block {
  std::uint32_t network;
  int prefix;
};

constexpr std::uint32_t ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d;
}

constexpr std::array<Block, 18> kReserved{{
    {ipv4(0, 0, 0, 0), 8},        {ipv4(10, 0, 0, 0), 8},      {ipv4(100, 64, 0, 0), 10},
    {ipv4(127, 0, 0, 0), 8},      {ipv4(169, 254, 0, 0), 16},  {ipv4(172, 16, 0, 0), 12},
    {ipv4(192, 0, 0, 0), 24},     {ipv4(192, 0, 2, 0), 24},    {ipv4(192, 31, 196, 0), 24},
    {ipv4(192, 52, 193, 0), 24},  {ipv4(192, 88, 99, 0), 24},  {ipv4(192, 168, 0, 0), 16},
    {ipv4(192, 175, 48, 0), 24},  {ipv4(198, 18, 0, 0), 15},   {ipv4(198, 51, 100, 0), 24},
    {ipv4(203, 0, 113, 0), 24},   {ipv4(224, 0, 0, 0), 4},     {ipv4(240, 0, 0, 0), 4},
}};

}  // namespace

bool is_reserved_ipv4(const std::string& address) {
  in_addr parsed{};
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) return true;
  const std::uint32_t host = ntohl(parsed.s_addr);
  for (const Block& block : kReserved) {
    const std::uint32_t mask = ~std::uint32_t{0} << (32 - block.prefix);
    if ((host & mask) == block.network) return true;
  }
  return false;
}

}  // namespace tessera::nat
