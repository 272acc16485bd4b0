// How a checkpoint reaches the disk: the engine's torch code writes the archive to a temporary
// file by path, and this puts it in place durably (core/sys/durable_file: "<file>.tmp", fsync,
// rename, fsync of the folder), so a crash leaves the previous checkpoint or the new one. Torch-free,
// so that the engine's torch translation units reach core/sys without including it.
#pragma once

#include <filesystem>
#include <functional>

namespace tessera::engine {

// Creates the file's folder if needed, then has `write` fill the temporary file at the path it is
// given. Throws std::runtime_error naming the file when it cannot be written; exceptions from
// `write` pass through unchanged.
void write_checkpoint_file(const std::filesystem::path& file,
                           const std::function<void(const std::filesystem::path& temp_file)>& write);

}  // namespace tessera::engine
