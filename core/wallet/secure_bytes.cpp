// SecureBytes over libsodium's guarded allocator.
#include "core/wallet/secure_bytes.h"

#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>

#include <sodium.h>

namespace tessera::wallet {

void ensure_sodium() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = sodium_init() >= 0; });
  if (!ok) throw std::runtime_error("libsodium could not be initialised (no secure random source?)");
}

SecureBytes::SecureBytes(std::size_t size) {
  ensure_sodium();
  if (size == 0) return;
  data_ = static_cast<std::uint8_t*>(sodium_malloc(size));
  if (data_ == nullptr) throw std::bad_alloc();
  sodium_memzero(data_, size);
  size_ = size;
}

SecureBytes SecureBytes::copy_of(std::span<const std::uint8_t> bytes) {
  SecureBytes copy(bytes.size());
  if (!bytes.empty()) std::copy(bytes.begin(), bytes.end(), copy.data_);
  return copy;
}

SecureBytes::~SecureBytes() { wipe(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecureBytes::wipe() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free zeroes before releasing
  data_ = nullptr;
  size_ = 0;
}

bool SecureBytes::equals(std::span<const std::uint8_t> other) const {
  if (other.size() != size_) return false;
  return size_ == 0 || sodium_memcmp(data_, other.data(), size_) == 0;
}

}  // namespace tessera::wallet
