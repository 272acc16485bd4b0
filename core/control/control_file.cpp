// control.json written and read (see control_file.h).
#include "core/control/control_file.h"

#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/sys/json_number.h"
#include "core/wallet/secure_file.h"

namespace tessera::control {

void write_control_file(const std::filesystem::path& file, std::int64_t pid, int port, const wallet::SecureBytes& token) {
  const std::string head = "{\"pid\": " + std::to_string(pid) + ", \"port\": " + std::to_string(port) + ", \"token\": \"";
  const std::string tail = "\"}\n";
  wallet::SecureBytes bytes(head.size() + token.size() + tail.size());
  std::copy(head.begin(), head.end(), bytes.data());
  std::copy_n(token.data(), token.size(), bytes.data() + head.size());
  std::copy(tail.begin(), tail.end(), bytes.data() + head.size() + token.size());
  wallet::write_file_atomic(file, bytes.span(), {}, wallet::IfExists::Replace);
}

ControlEndpoint read_control_file(const std::filesystem::path& file) {
  // The token is copied into secure memory; the text and the copy nlohmann made are wiped.
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("no control file yet");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto document = nlohmann::json::parse(text, nullptr, false);
  sodium_memzero(text.data(), text.size());
  if (document.is_discarded() || !document.is_object() || !document.contains("token") || !document["token"].is_string())
    throw std::runtime_error("control file " + file.string() + " is not valid");
  auto& token_text = document["token"].get_ref<std::string&>();
  const bool token_ok = token_text.size() == 64;
  ControlEndpoint endpoint;
  if (token_ok)
    endpoint.token = wallet::SecureBytes::copy_of({reinterpret_cast<const std::uint8_t*>(token_text.data()), token_text.size()});
  sodium_memzero(token_text.data(), token_text.size());
  if (!token_ok) throw std::runtime_error("control file has no valid token");
  const auto port = document.contains("port") ? sys::json_integer_if<std::uint16_t>(document["port"]) : std::nullopt;
  if (!port || *port == 0) throw std::runtime_error("control file " + file.string() + " names no port");
  endpoint.port = *port;
  if (document.contains("pid") && document["pid"].is_number_integer()) endpoint.pid = document["pid"].get<std::int64_t>();
  return endpoint;
}

}  // namespace tessera::control
