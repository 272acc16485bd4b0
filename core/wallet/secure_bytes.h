// Secrets are a type: a move-only byte buffer in sodium_malloc memory (guard pages, locked
// against swapping) that is wiped when freed. Seeds and private keys live only in these; they
// never pass through std::string, a log line or argv.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tessera::wallet {

// Initialises libsodium once (thread-safe); throws std::runtime_error if it cannot.
void ensure_sodium();

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(std::size_t size);  // zero-filled; throws std::bad_alloc
  static SecureBytes copy_of(std::span<const std::uint8_t> bytes);
  ~SecureBytes();

  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<std::uint8_t> span() { return {data_, size_}; }
  std::span<const std::uint8_t> span() const { return {data_, size_}; }

  void wipe();  // frees (and so zeroes) the memory now; the buffer becomes empty

  // Constant-time comparison.
  bool equals(std::span<const std::uint8_t> other) const;

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tessera::wallet
