// libFuzzer target: decode_header must never crash, and whatever it accepts must re-encode to
// exactly the bytes it was given (nothing invented, nothing ignored).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/net/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span input(data, size);
  const auto decoded = tessera::net::decode_header(input);
  if (!decoded.header) return 0;
  const auto again = tessera::net::encode_header_frame(*decoded.header);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  std::uint8_t payload[4] = {1, 2, 3, 4};
  (void)tessera::net::check_payload(*decoded.header, payload);
  return 0;
}
