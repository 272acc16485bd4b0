// A sample contribution log (30 days of a node's work, statements and revenue in two runs), for
// `tessera --screenshots` and the GUI tests' prepared logs. Written through the real LedgerWriter,
// so it verifies like any log.
#pragma once

#include <cstdint>
#include <filesystem>

namespace tessera::ui {

// Writes the sample into `file` (created), signed by the node key in `node_key_file` (created when
// missing). Work rows every `step_minutes` over `days` days before `now_ms`. Returns rows written.
std::int64_t writeSampleLog(const std::filesystem::path& file, const std::filesystem::path& node_key_file,
                            std::int64_t now_ms, int days = 30, int step_minutes = 20);

}  // namespace tessera::ui
