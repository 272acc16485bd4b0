// The delegation file (see delegation_file.h).
#include "app/cli/delegation_file.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/wallet/secure_file.h"

namespace tessera::cli {

wallet::Delegation read_delegation(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file))
    throw std::runtime_error("no delegation at " + file.string() +
                             ": let this machine work for your wallet first (tessera-node wallet delegate)");
  try {
    return wallet::Delegation::from_json(nlohmann::json::parse(wallet::read_file_text(file, 1 << 16)));
  } catch (const std::exception& error) {
    throw std::runtime_error("delegation " + file.string() + " is not valid: " + error.what());
  }
}

}  // namespace tessera::cli
