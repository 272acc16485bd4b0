// The reference trainer's handle: made by the loaded backend (reference_trainer.h).
#include "core/engine/reference_trainer.h"

#include "core/engine/backend_loader.h"

namespace tessera::engine {

SingleProcessTrainer::SingleProcessTrainer(const TrainerOptions& options) : core_(backend().make_trainer(options)) {}
SingleProcessTrainer::~SingleProcessTrainer() = default;

}  // namespace tessera::engine
