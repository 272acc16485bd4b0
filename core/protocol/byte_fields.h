// Writing and reading the signed byte formats field by field (tickets, assignments): little-endian
// integers, fixed keys and a short run id. The reader never reads past its span: a field that does
// not fit makes it fail, and every later read fails too, so a decoder checks once at the end.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "core/protocol/little_endian.h"

namespace tessera::protocol {

class ByteWriter {
 public:
  template <typename T>
  void put(T value) {
    std::uint8_t le[sizeof(T)];
    put_le<T>(le, value);
    put_bytes(le);
  }
  void put_bytes(std::span<const std::uint8_t> raw) { bytes_.insert(bytes_.end(), raw.begin(), raw.end()); }
  // Short text (a run id, an endpoint) as u8 length ‖ bytes (the caller checks its length).
  void put_text(const std::string& text) {
    put<std::uint8_t>(static_cast<std::uint8_t>(text.size()));
    bytes_.insert(bytes_.end(), text.begin(), text.end());
  }
  void put_run(const std::string& run_id) { put_text(run_id); }
  void reserve(std::size_t bytes) { bytes_.reserve(bytes); }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  template <typename T>
  T get() {
    if (!fits(sizeof(T))) return T{};
    const T value = get_le<T>(bytes_.data() + at_);
    at_ += sizeof(T);
    return value;
  }
  template <std::size_t N>
  std::array<std::uint8_t, N> get_fixed() {
    std::array<std::uint8_t, N> out{};
    if (!fits(N)) return out;
    std::memcpy(out.data(), bytes_.data() + at_, N);
    at_ += N;
    return out;
  }
  // Short text of 1 to `most` bytes (at most 255); anything else fails the reader.
  std::string get_text(std::size_t most) {
    const auto length = get<std::uint8_t>();
    if (length == 0 || length > most) ok_ = false;
    if (!fits(length)) return {};
    std::string out(reinterpret_cast<const char*>(bytes_.data() + at_), length);
    at_ += length;
    return out;
  }
  std::string get_run() { return get_text(64); }  // a run id: 1 to 64 bytes
  bool expect(std::span<const std::uint8_t> tag) {
    if (!fits(tag.size()) || std::memcmp(bytes_.data() + at_, tag.data(), tag.size()) != 0) return ok_ = false;
    at_ += tag.size();
    return true;
  }
  // Everything read so far fitted, and nothing is left over.
  bool done() const { return ok_ && at_ == bytes_.size(); }
  bool ok() const { return ok_; }
  std::size_t remaining() const { return ok_ ? bytes_.size() - at_ : 0; }

 private:
  bool fits(std::size_t n) {
    if (ok_ && n <= bytes_.size() - at_) return true;
    ok_ = false;
    return false;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace tessera::protocol
