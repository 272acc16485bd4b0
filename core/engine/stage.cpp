// The stage handle: made by the loaded backend, forwarded to it (stage.h).
#include "core/engine/stage.h"

#include "core/engine/backend_loader.h"

namespace tessera::engine {

Stage::Stage(const StageOptions& options) : core_(backend().make_stage(options)) {}
Stage::~Stage() = default;
Stage::Stage(Stage&&) noexcept = default;
Stage& Stage::operator=(Stage&&) noexcept = default;

}  // namespace tessera::engine
