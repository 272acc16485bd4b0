// Checkpoint files written through the durable write in core/sys.
#include "core/backend/checkpoint_file.h"

#include "core/sys/durable_file.h"

namespace tessera::engine {

void write_checkpoint_file(const std::filesystem::path& file,
                           const std::function<void(const std::filesystem::path& temp_file)>& write) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  // A checkpoint is ordinary data (the mode any new file gets), and a crash's large leftover is
  // overwritten by the next save rather than kept.
  sys::DurableWriteOptions options;
  options.temp = sys::TempFile::SharedFixed;
  sys::write_file_durably(file, write, options);
}

}  // namespace tessera::engine
