// `tessera-hub init`: a signed run manifest from a few choices (core/protocol/manifest_draft.h),
// the data files it names copied next to it as content-addressed shards, and what the run asks of
// each stage printed (core/protocol/run_needs.h), so a publisher never hand-writes the JSON.
#pragma once

namespace CLI {
class App;
}

namespace tessera::cli {

// Adds `init` to tessera-hub; `ran` is set when it ran (the hub itself then does not start).
void add_init_command(CLI::App& app, bool& ran);

}  // namespace tessera::cli
