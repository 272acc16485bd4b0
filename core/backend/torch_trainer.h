// The reference trainer on libtorch: engine::TrainerCore as both backends do it.
#pragma once

#include <memory>

#include "core/engine/reference_trainer.h"

namespace tessera::engine {

std::unique_ptr<TrainerCore> make_torch_trainer(const TrainerOptions& options);

}  // namespace tessera::engine
