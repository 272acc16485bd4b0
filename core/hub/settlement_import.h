// Hubs before the store kept their settlement in <state dir>/settlement-<run>.json (the settled
// state, the fractions carried and the latest statement; the open epoch's credits were lost on
// every restart). The first start with a store imports that file, in one transaction, and renames
// it to settlement-<run>.json.imported, so the same statement is served with the same signature.
#pragma once

#include <filesystem>
#include <string>

namespace tessera::wallet {
class KeyPair;
}

namespace tessera::hub {

class HubStore;

// The legacy file of `run_id` in `state_dir` (which need not exist).
std::filesystem::path legacy_settlement_file(const std::filesystem::path& state_dir, const std::string& run_id);

// Imports `file` when it exists and the store has published nothing yet; returns whether it did.
// Throws std::runtime_error naming the file when it cannot be used (another run, damaged).
bool import_legacy_settlement(HubStore& store, const std::filesystem::path& file, const std::string& run_id,
                              const wallet::KeyPair& hub_key);

}  // namespace tessera::hub
