// The owner's delegation this machine's node key works under (<data dir>/delegation.json, written
// by `tessera-node wallet delegate`), read for `run` and `data propose`.
#pragma once

#include <filesystem>

#include "core/wallet/delegation.h"

namespace tessera::cli {

// Throws std::runtime_error saying how to make one when it is missing, or why it is not valid.
wallet::Delegation read_delegation(const std::filesystem::path& file);

}  // namespace tessera::cli
