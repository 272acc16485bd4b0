// The backend's probes: what its libtorch sees, its CPU thread pools, the matmul rate (doctor).
#pragma once

#include "core/engine/device_probe.h"

namespace tessera::engine {

TorchInfo torch_probe();
void torch_set_threads(int n);
int torch_blas_threads();
bool torch_set_blas_threads(int n);
MatmulRate torch_measure_matmul(const DeviceChoice& device, double seconds, int size, MatmulPrecision precision);

}  // namespace tessera::engine
