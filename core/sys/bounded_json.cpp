// Bounded JSON parsing (see bounded_json.h): a SAX pass counts the nesting without building
// anything, then the document is built only when the pass stayed inside the limits.
#include "core/sys/bounded_json.h"

namespace tessera::sys {
namespace {

// Counts nesting depth; stops the parse at the first level past the limit.
class DepthCheck : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DepthCheck(int max_depth) : max_depth_(max_depth) {}
  bool too_deep = false;
  std::string error;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    error = "not JSON (at byte " + std::to_string(position) + ")";
    return false;
  }

 private:
  bool enter() {
    if (++depth_ > max_depth_) too_deep = true;
    return !too_deep;
  }
  bool leave() {
    --depth_;
    return true;
  }
  int max_depth_;
  int depth_ = 0;
};

}  // namespace

BoundedJson parse_bounded_json(std::string_view text, JsonLimits limits) {
  BoundedJson out;
  if (text.size() > limits.max_bytes) {
    out.error = "longer than " + std::to_string(limits.max_bytes) + " bytes";
    return out;
  }
  DepthCheck check(limits.max_depth);
  const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &check, nlohmann::json::input_format_t::json,
                                            /*strict=*/true);
  if (check.too_deep) {
    out.error = "nested deeper than " + std::to_string(limits.max_depth) + " levels";
    return out;
  }
  if (!ok) {
    out.error = check.error.empty() ? "not JSON" : check.error;
    return out;
  }
  auto value = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    out.error = "not JSON";
    return out;
  }
  out.value = std::move(value);
  return out;
}

std::optional<nlohmann::json> parse_bounded_object(std::string_view text, JsonLimits limits) {
  auto parsed = parse_bounded_json(text, limits);
  if (!parsed.value || !parsed.value->is_object()) return std::nullopt;
  return std::move(parsed.value);
}

}  // namespace tessera::sys
