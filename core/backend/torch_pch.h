// Precompiled header for the engine's translation units: the only place libtorch enters the build.
#pragma once
#include <torch/torch.h>
