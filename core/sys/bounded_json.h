// JSON from someone who may lie (a peer's message meta, a hub request body, a hub's reply),
// parsed with limits checked before the document is built: a byte limit and a nesting limit, so
// that neither a deep `[[[[…` (recursion in anything that later copies or prints the document)
// nor a huge body reaches the rest of the code. Never throws; nothing when the text is not JSON
// or breaks a limit, with the reason.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tessera::sys {

struct JsonLimits {
  std::size_t max_bytes = 1 << 20;
  int max_depth = 16;  // 1: a flat object or array; 0: scalars only
};

struct BoundedJson {
  std::optional<nlohmann::json> value;  // nothing: refused, see `error`
  std::string error;
};

// The document in `text`, or why it was refused (too long, too deep, not JSON).
BoundedJson parse_bounded_json(std::string_view text, JsonLimits limits = {});

// parse_bounded_json, and a JSON object; nothing otherwise.
std::optional<nlohmann::json> parse_bounded_object(std::string_view text, JsonLimits limits = {});

}  // namespace tessera::sys
